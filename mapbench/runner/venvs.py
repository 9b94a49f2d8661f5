"""Give another interpreter a private venv with this mapbench installed, cached and reused.

The C maps are compiled per interpreter, so another Python cannot share this one's build: the
package is installed from its source tree into `<cache>/venvs/<X.Y>-<id>`, and reinstalled only
when the sources change (a hash of them is stamped in the venv).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import mapbench
from mapbench._source import SKIP, SOURCE_DIRS, SOURCE_FILES, source_digest
from mapbench._subprocess import check_call
from mapbench.errors import MapbenchError
from mapbench.runner.interpreters import InterpreterError, find_python, python_version

_STAMP = "mapbench-source.sha256"


class VenvError(MapbenchError):
    """A venv for another interpreter that could not be created or installed into."""


def cache_dir() -> Path:
    """Where venvs live: `$MAPBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/mapbench` (~/.cache)."""
    explicit = os.environ.get("MAPBENCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mapbench"


def source_root() -> Path | None:
    """The checkout this mapbench came from, or None (a wheel from an index, a deleted checkout).

    An editable install imports from the checkout itself; `pip install DIR` records DIR in the
    distribution's `direct_url.json` (PEP 610).
    """
    imported_from = Path(mapbench.__file__).resolve().parent.parent
    if _is_checkout(imported_from):
        return imported_from
    try:
        recorded = importlib.metadata.distribution("mapbench").read_text("direct_url.json")
        url = urllib.parse.urlparse(json.loads(recorded or "{}").get("url", ""))
    except (importlib.metadata.PackageNotFoundError, ValueError, AttributeError):
        return None
    if url.scheme != "file":
        return None
    directory = Path(urllib.parse.unquote(url.path))
    return directory if _is_checkout(directory) else None


def _is_checkout(root: Path) -> bool:
    pyproject = root / "pyproject.toml"
    return pyproject.is_file() and 'name = "mapbench"' in pyproject.read_text(encoding="utf-8")


def runtime_for(request: str, *, log: bool = True) -> str:
    """An executable that runs `request` ("3.12" or a path) with this mapbench importable.

    The running interpreter is used as is when it is the one asked for; an interpreter that
    already has mapbench installed (e.g. a venv path) is used as is; any other gets a cached venv.
    """
    base = find_python(request)
    if _same_interpreter(base) or (os.sep in request and _has_mapbench(base)):
        return sys.executable if _same_interpreter(base) else base
    root = source_root()
    if root is None:
        raise VenvError(
            f"--python {request}: mapbench is not installed from a source checkout, so it cannot "
            "be installed into that interpreter; install mapbench there and pass its path"
        )
    version = python_version(base)
    key = hashlib.sha256(os.path.realpath(base).encode()).hexdigest()[:8]
    venv = cache_dir() / "venvs" / f"{'.'.join(version.split('.')[:2])}-{key}"
    python = venv / "bin" / "python"
    if not python.is_file():
        _say(log, f"creating a venv for Python {version} at {venv}")
        check_call([base, "-m", "venv", "--clear", str(venv)], "create the venv", VenvError)
    digest = source_digest(root)
    stamp = venv / _STAMP
    if not stamp.is_file() or stamp.read_text().strip() != digest:
        _say(log, f"installing mapbench into {venv} (first time: with its dependencies)")
        with tempfile.TemporaryDirectory(prefix="mapbench-src-") as tmp:
            copy = _copy_source(root, Path(tmp) / "src")
            check_call(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", copy],
                f"install mapbench into the Python {version} venv",
                VenvError,
            )
        stamp.write_text(digest + "\n")
    return str(python)


def _copy_source(root: Path, dest: Path) -> str:
    # pip builds a local directory in place (leaving build/ and egg-info behind): build a copy.
    dest.mkdir(parents=True)
    for name in SOURCE_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)
    for name in SOURCE_DIRS:
        if (root / name).is_dir():
            shutil.copytree(root / name, dest / name, ignore=SKIP)
    return str(dest)


def _same_interpreter(executable: str) -> bool:
    # A venv's python is a symlink to its base interpreter, so compare resolved paths.
    return os.path.realpath(executable) == os.path.realpath(sys.executable)


def _has_mapbench(executable: str) -> bool:
    probe = [executable, "-c", "import mapbench.runner"]
    with tempfile.TemporaryDirectory() as neutral:  # not the checkout, which would shadow it
        return subprocess.run(probe, cwd=neutral, capture_output=True, timeout=60).returncode == 0


def _say(log: bool, message: str) -> None:
    if log:
        print(f"mapbench: {message}", file=sys.stderr, flush=True)


__all__ = ["InterpreterError", "VenvError", "cache_dir", "runtime_for", "source_digest"]
