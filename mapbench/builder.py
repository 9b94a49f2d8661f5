"""The one environment builder: sources (commits, requirements, wheels, directories) installed
into a cached venv for an interpreter, beside the instrument, mapbench, that measures them.

How the instrument gets there depends on the interpreter:
- **The running interpreter** (`mapbench ci`, `bisect`, `run --with`): the venv sees the running
  environment's packages after its own (a `.pth` line adds them as site directories, so editable
  installs work too). The instrument is this very mapbench, the same on both sides of a
  comparison, and the dependencies a source shares with it are not installed twice. A source
  that *is* mapbench (a commit of mapbench's own repository) is installed into the venv and
  comes first: its built-in maps are modules of the package, so there the commit's build is the
  instrument, as it always was.
- **Another interpreter** (`run --python 3.13`): nothing can be shared (compiled packages differ
  per version), so the sources, mapbench among them, are installed with all their dependencies.

Each source is built by pip with PEP 517 (pure Python and C extensions alike) under the target
interpreter, installed without its dependencies first (so nothing inherited can stand in for
it), then its missing dependencies are added. A venv is keyed by the interpreter, the inherited
environment and each source's identity; a stamp file written last marks it finished, so an
interrupted build is rebuilt and a finished one is reused without running anything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mapbench._subprocess import check_call, run_python
from mapbench.errors import MapbenchError
from mapbench.sources import Source

# Bumped when what a venv holds changes meaning: every cached venv is then rebuilt.
BUILDER_VERSION = 1
STAMP = "mapbench-environment.json"
_INHERIT_PTH = "mapbench-inherit.pth"

Log = Callable[[str], None]


class BuildError(MapbenchError):
    """A source that cannot be built or installed, or a venv that would not measure it."""


@dataclass(frozen=True)
class Environment:
    """A finished venv: run `python` to import the sources and the instrument."""

    python: str
    venv: Path
    sources: tuple[Source, ...]


def source_root() -> Path | None:
    """The checkout this mapbench came from, or None (a wheel from an index, a deleted checkout).

    An editable install imports from the checkout itself; `pip install DIR` records DIR in the
    distribution's `direct_url.json` (PEP 610).
    """
    import importlib.metadata
    import urllib.parse

    import mapbench

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


def cache_dir() -> Path:
    """Where environments live by default: `$MAPBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/mapbench`
    (~/.cache/mapbench)."""
    explicit = os.environ.get("MAPBENCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mapbench"


def same_interpreter(executable: str) -> bool:
    """Whether `executable` is the running interpreter (a venv's python links to its base)."""
    return os.path.realpath(executable) == os.path.realpath(sys.executable)


def build_environment(
    sources: Sequence[Source],
    cache: Path,
    *,
    python: str = sys.executable,
    log: Log | None = None,
) -> Environment:
    """The cached venv of `sources` for `python`, building it first if missing or half-built."""
    inherit = same_interpreter(python)
    identity = {
        "builder": BUILDER_VERSION,
        "python": os.path.realpath(python),
        "inherits": _running_site_dirs() if inherit else [],
        "sources": [[s.kind, s.identity, s.extras] for s in sources],
    }
    text = json.dumps(identity, sort_keys=True)
    venv = cache / "envs" / hashlib.sha256(text.encode()).hexdigest()[:16]
    venv_python = venv / "bin" / "python"
    stamp = venv / STAMP
    if stamp.is_file() and venv_python.is_file() and stamp.read_text() == text:
        return Environment(str(venv_python), venv, tuple(sources))
    shutil.rmtree(venv, ignore_errors=True)
    what = ", ".join(s.label for s in sources) or "nothing"
    if log:
        log(f"building {what} into {venv}")
    check_call([python, "-m", "venv", "--without-pip", str(venv)], "create a venv", BuildError)
    with tempfile.TemporaryDirectory(prefix="mapbench-build-") as tmp:
        wheels = [
            _wheel(source, venv_python, Path(tmp, str(i))) for i, source in enumerate(sources)
        ]
        if wheels:
            # Nothing inherited is visible yet: each source lands in the venv itself.
            _pip(
                venv_python,
                ["install", "--no-deps", "--no-index", *map(str, wheels)],
                f"install {what}",
            )
        if inherit:
            _inherit(venv_python)
        if any(_requires(w) for w in wheels):  # what the inherited environment lacks
            _pip(venv_python, ["install", *map(str, wheels)], f"install what {what} needs")
        _check_imports(venv_python, venv, wheels)
    stamp.write_text(text)
    return Environment(str(venv_python), venv, tuple(sources))


def _wheel(source: Source, python: Path, scratch: Path) -> Path:
    """A wheel of `source` built by pip (PEP 517) under the venv's interpreter."""
    scratch.mkdir(parents=True)
    if source.kind == "file" and source.location.endswith(".whl"):
        return Path(source.location)
    argument = source.install_argument(scratch)
    out = scratch / "wheels"
    _pip(python, ["wheel", "--no-deps", "-w", str(out), argument], f"build {source.label}")
    found = sorted(out.glob("*.whl"))
    if not found:
        raise BuildError(f"could not build {source.label}: pip wrote no wheel")
    return found[0]


def _pip(python: Path, args: list[str], what: str) -> None:
    cmd = [*pip_command(), "--python", str(python), "-q"]
    cmd += ["--disable-pip-version-check", *args]
    check_call(cmd, what, BuildError)


@functools.cache
def pip_command() -> tuple[str, ...]:
    """pip run by an interpreter that has it (>= 22.3, for --python): this one, else the one it
    was made from (a venv made without pip)."""
    for candidate in dict.fromkeys([sys.executable, getattr(sys, "_base_executable", "")]):
        probe = [candidate, "-m", "pip", "--version"] if candidate else []
        if probe and subprocess.run(probe, capture_output=True, timeout=60).returncode == 0:
            return (candidate, "-m", "pip")
    raise BuildError(f"building environments needs pip: {sys.executable} -m ensurepip")


def _running_site_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def _inherit(python: Path) -> None:
    """Let the venv import the running environment's packages after its own, as site
    directories (their .pth files run: editable installs resolve)."""
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in _running_site_dirs()]
    Path(purelib, _INHERIT_PTH).write_text("\n".join(lines) + "\n")


_PROBE = """
import importlib.util, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        spec = importlib.util.find_spec(name)
    except Exception as exc:
        found[name] = "error: " + repr(exc)
        continue
    if spec is None:
        found[name] = ""
    else:
        locations = list(spec.submodule_search_locations or [])
        found[name] = locations[0] if locations else (spec.origin or "")
print(json.dumps(found))
"""


def _check_imports(python: Path, venv: Path, wheels: Sequence[Path]) -> None:
    """Refuse a venv whose imports would not measure what was built: every top-level module of
    every source must come from the venv, and the instrument must be importable."""
    names = sorted({n for wheel in wheels for n in _top_level(wheel)})
    try:
        # cwd: the venv, so that no checkout in the working directory can shadow the install.
        done = run_python(
            python, ["-c", _PROBE, "mapbench.measure.worker", *names], timeout=120, cwd=venv
        )
        found: dict[str, str] = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise BuildError(f"could not import anything in {venv}: {exc}") from exc
    if not found.pop("mapbench.measure.worker"):
        raise BuildError(f"{venv} has no mapbench to measure with (install mapbench here)")
    for name, where in found.items():
        if not where or not Path(where).resolve().is_relative_to(venv.resolve()):
            raise BuildError(f"{venv} imports {name} from {where or 'nowhere'}, not its own build")


def _requires(wheel: Path) -> bool:
    """Whether a wheel declares dependencies (Requires-Dist) of any kind."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode("utf-8", "replace")
    return any(line.startswith("Requires-Dist:") for line in metadata.splitlines())


def _top_level(wheel: Path) -> set[str]:
    """The importable top-level names a wheel installs (packages and modules)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = set()
    for name in names:
        first = name.split("/", 1)[0]
        if first.endswith((".dist-info", ".data")):
            continue
        if "/" in name:
            top.add(first)
        elif first.endswith(".py"):
            top.add(first[:-3])
        elif ".cpython-" in first or first.endswith((".so", ".pyd")):
            top.add(first.split(".", 1)[0])
    return {t for t in top if t.isidentifier()}


__all__ = [
    "BUILDER_VERSION",
    "BuildError",
    "Environment",
    "build_environment",
    "cache_dir",
    "pip_command",
    "same_interpreter",
    "source_root",
]
