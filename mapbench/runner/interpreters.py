"""Find real Python interpreters by version, skipping pyenv shims (they fail inside tools).

Run `python -m mapbench.runner.interpreters` to see which of 3.10-3.13 were found, and the PATH
prefix that puts them first (what asv needs: it looks for `python3.X` on PATH).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from mapbench.errors import MapbenchError

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
_VERSION = re.compile(r"^\d+\.\d+$")


class InterpreterError(MapbenchError):
    """A requested interpreter that cannot be found or does not run."""


def pyenv_versions_dir() -> Path:
    """Where pyenv keeps its interpreters (`$PYENV_ROOT/versions`, default `~/.pyenv/versions`)."""
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def find_python(request: str) -> str:
    """The executable for `request`: a path, or a version like "3.12" (pyenv first, then PATH)."""
    if os.sep in request or request.startswith("."):
        path = Path(request).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise InterpreterError(f"no executable Python at {request!r}")
        return str(path.absolute())
    if not _VERSION.match(request):
        raise InterpreterError(f"bad --python {request!r}: give a version like 3.12 or a path")
    found = _pyenv_python(request) or _path_python(request)
    if found is None:
        raise InterpreterError(
            f"no Python {request} found under {pyenv_versions_dir()} or on PATH (shims skipped)"
        )
    return found


def _pyenv_python(version: str) -> str | None:
    root = pyenv_versions_dir()
    if not root.is_dir():
        return None
    # The newest patch release of that minor version, by numeric order of the patch number.
    matches = [d for d in root.iterdir() if re.fullmatch(re.escape(version) + r"\.\d+", d.name)]
    for d in sorted(matches, key=lambda d: int(d.name.rsplit(".", 1)[1]), reverse=True):
        exe = d / "bin" / "python"
        if exe.is_file():
            return str(exe)
    return None


def _path_python(version: str) -> str | None:
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or "shims" in Path(directory).parts:
            continue
        exe = shutil.which(f"python{version}", path=directory)
        if exe:
            return exe
    return None


def python_version(executable: str) -> str:
    """The full version ("3.12.1") of the interpreter at `executable`, by running it."""
    try:
        out = subprocess.run(
            [executable, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise InterpreterError(f"cannot run {executable}: {exc}") from exc
    return out


def available(versions: tuple[str, ...] = SUPPORTED) -> dict[str, str | None]:
    """Each version mapped to its executable, or None when none was found."""
    result: dict[str, str | None] = {}
    for v in versions:
        try:
            result[v] = find_python(v)
        except InterpreterError:
            result[v] = None
    return result


def path_prefix(found: dict[str, str | None]) -> str:
    """The directories of the found interpreters, joined for the front of PATH."""
    dirs = dict.fromkeys(str(Path(exe).parent) for exe in found.values() if exe)
    return os.pathsep.join(dirs)


def main() -> int:
    found = available()
    for version, exe in found.items():
        print(
            f"# python {version}: {exe or 'not found: asv and --python skip it'}", file=sys.stderr
        )
    prefix = path_prefix(found)
    print(f'export PATH="{prefix}{os.pathsep}$PATH"' if prefix else "# no interpreters found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
