"""Developer tasks: `python3 -m nox -s demo` (the Quickstart), `tests` (every Python), `lint`...

Interpreters are found without a fixed location: the one running nox first, then `pythonX.Y`
and `python3` on PATH (pyenv's shims skipped: they fail inside the virtual environments nox
builds), then pyenv's versions under `$PYENV_ROOT` (default `~/.pyenv`). Each is run once to
ask its version. A supported version with no interpreter is skipped with a message; a session
that cannot run at all fails with one line saying why.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
ROOT = Path(__file__).resolve().parent

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
if hasattr(nox.options, "download_python"):  # nox 2025.10+: never fetch an interpreter
    nox.options.download_python = "never"


def _version(executable: str) -> str | None:
    """`X.Y` of a working interpreter, None for anything that does not run (a broken shim)."""
    try:
        done = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _candidates() -> list[str]:
    """Interpreters to ask, in order of preference."""
    found = [sys.executable]
    names = ["python3", *(f"python{v}" for v in SUPPORTED)]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in Path(directory).parts:
            found += [p for name in names if (p := shutil.which(name, path=directory))]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    newest_first = sorted(
        glob.glob(f"{pyenv_root}/versions/3.*/bin/python3"),
        key=lambda p: [int(x) for x in Path(p).parts[-3].split(".") if x.isdigit()],
        reverse=True,
    )
    return found + newest_first


@functools.cache
def interpreters() -> dict[str, str]:
    """The first working interpreter of each supported version, in SUPPORTED's order."""
    by_version: dict[str, str] = {}
    for executable in dict.fromkeys(_candidates()):
        version = _version(executable)
        if version in SUPPORTED and version not in by_version:
            by_version[version] = executable
    return {v: by_version[v] for v in SUPPORTED if v in by_version}


def main_python() -> str | None:
    """The interpreter of the single-Python sessions: the running one if supported, else the
    newest supported one found."""
    found = interpreters()
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if running in found:
        return found[running]
    return found[max(found, key=SUPPORTED.index)] if found else None


def _no_python_message() -> str:
    return (
        f"no Python {', '.join(SUPPORTED)} found (asked {sys.executable}, PATH without pyenv "
        "shims, and $PYENV_ROOT/versions): install one, e.g. `pyenv install 3.12`"
    )


FOUND = interpreters()
# nox looks interpreters up by version on PATH: the ones found come first, shims after them.
os.environ["PATH"] = os.pathsep.join(
    [*dict.fromkeys(os.path.dirname(exe) for exe in FOUND.values()), os.environ.get("PATH", "")]
)
MAIN = main_python()
MAIN_VERSION = next((v for v, exe in FOUND.items() if exe == MAIN), None)
# The full suite, slow end-to-end tests included, runs on this one; the others run the fast suite.
PRIMARY = "3.12" if "3.12" in FOUND else max(FOUND, key=SUPPORTED.index, default=None)
if _missing := [v for v in SUPPORTED if v not in FOUND]:
    print(f"nox: no Python {', '.join(_missing)} found: skipped by `tests`", file=sys.stderr)


def _require_python(session: nox.Session) -> None:
    """Stop with one line when no supported Python was found, or when the reused environment
    was built by another Python than this session's (nox reuses it regardless)."""
    if MAIN is None:
        session.error(_no_python_message())
    config = Path(session.virtualenv.location) / "pyvenv.cfg"
    if isinstance(session.python, str) and config.is_file():
        lines = (line.partition("=") for line in config.read_text().splitlines())
        built = {k.strip(): v.strip() for k, _, v in lines}.get("version", "")
        if built and not built.startswith(f"{session.python}."):
            session.error(
                f"{config.parent} was built by Python {built}, not {session.python}: "
                "run nox again with -N to rebuild it"
            )


def _source_digest() -> str:
    """mapbench._source.source_digest of the checkout, loaded by path (nothing installed yet)."""
    spec = importlib.util.spec_from_file_location("_mapbench_source", ROOT / "mapbench/_source.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    digest: str = module.source_digest(ROOT)
    return digest


def install_current(session: nox.Session, spec: str = ".") -> None:
    """Install the checkout (`spec`, e.g. ".[test]"), unless this venv already has this source.

    A stamp of the source's hash in the venv says what was installed last.
    """
    stamp = Path(session.virtualenv.location) / f"mapbench-source-{spec.strip('.')}.sha256"
    digest = _source_digest()
    if stamp.is_file() and stamp.read_text().strip() == digest:
        session.log(f"mapbench {spec}: the source is unchanged since the last install, reused")
        return
    session.install(spec)
    stamp.write_text(digest + "\n")


@nox.session(python=list(FOUND) or False)
def tests(session: nox.Session) -> None:
    """The tests against the installed package (slow end-to-end ones on 3.12, or the newest)."""
    _require_python(session)
    install_current(session, ".[test,asv,browser,peers]")
    args = session.posargs or ([] if session.python == PRIMARY else ["-m", "not slow"])
    # Two workers, a whole file each (its module fixtures built once): most tests wait on child
    # processes, and the slow end-to-end files start first (tests/conftest.py). The 15 slowest
    # tests are listed at the end, so a CI log shows where its time went.
    args = ["-n", "2", "--dist", "loadfile", "--durations", "15", *args]
    # Run from tests/ so that the checkout's mapbench/ folder cannot shadow the installed package.
    session.chdir("tests")
    session.run("pytest", "-p", "no:cacheprovider", "--rootdir", "..", *args)


@nox.session(python=MAIN_VERSION or False)
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=MAIN_VERSION or False)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the installed package (mapbench, mapbench.impls and mapbench.reports)."""
    _require_python(session)
    session.install("mypy", "pandas-stubs")
    install_current(session, ".[test,peers]")
    config = os.path.abspath("pyproject.toml")
    # From outside the checkout, mypy reads the installed package, where impls/ and reports/
    # sit inside mapbench/ as they do for users.
    session.chdir(session.create_tmp())
    session.run("mypy", "--config-file", config, "-p", "mapbench")


@nox.session(python=MAIN_VERSION or False)
def demo(session: nox.Session) -> None:
    """The Quickstart's main job: a quick benchmark run of every map, ending in an HTML report.

    `nox -s demo -- ARGS` passes ARGS to `mapbench run` (e.g. `-- --map dict`).
    """
    _require_python(session)
    install_current(session)
    out = "results/demo"
    # Exit status 1 means some benchmark failed: it is recorded, and the report shows it.
    session.run(
        "mapbench", "run", "--quick", "--overwrite", "--output", out, *session.posargs,
        success_codes=[0, 1],
    )  # fmt: skip
    session.run("mapbench", "report", out, "-o", f"{out}/report.html")
    session.log(f"report: {os.path.abspath(out)}/report.html")


@nox.session(python=MAIN_VERSION or False)
def peers(session: nox.Session) -> None:
    """The quick suite over dict, our maps and every available peer map: one report.

    Writes results/peers/ (results, report.html, and peers.md: the README's peers table).
    """
    _require_python(session)
    install_current(session, ".[peers]")
    out = "results/peers"
    session.run("mapbench", "list")
    # Exit status 1 means some benchmark failed: it is recorded, and the report shows it.
    session.run(
        "mapbench", "run", "--quick", "--overwrite", "--output", out, *session.posargs,
        success_codes=[0, 1],
    )  # fmt: skip
    session.run("mapbench", "report", out, "-o", f"{out}/report.html")
    session.run("python", "scripts/peers_table.py", out, "-o", f"{out}/peers.md")
    session.log(f"report: {os.path.abspath(out)}/report.html")


@nox.session(python=MAIN_VERSION or False)
def bench(session: nox.Session) -> None:
    """The pyperf suite on this interpreter (`nox -s bench -- --quick` for the two-minute run)."""
    _require_python(session)
    install_current(session)
    session.run("mapbench", "run", *session.posargs)


@nox.session(name="bench-all", python=MAIN_VERSION or False)
def bench_all(session: nox.Session) -> None:
    """The pyperf suite on every Python found into one results directory, tagged by version."""
    _require_python(session)
    install_current(session)
    pythons = [f"--python={exe}" for exe in FOUND.values()]
    session.run("mapbench", "run", *pythons, *session.posargs)


@nox.session(python=MAIN_VERSION or False)
def asv(session: nox.Session) -> None:
    """asv's CI subset over the last commits on the oldest and newest Python, then a site.

    `nox -s asv -- ARGS` replaces the `asv run` arguments (e.g. `-- HEAD~5..HEAD`).
    """
    _require_python(session)
    install_current(session, ".[asv]")
    # asv looks for pythonX.Y on PATH, where the interpreters found come first (see above).
    session.run("asv", "machine", "--yes")
    oldest, newest = min(FOUND, key=SUPPORTED.index), max(FOUND, key=SUPPORTED.index)
    envs = [f"--environment=virtualenv:{v}" for v in dict.fromkeys([oldest, newest])]
    args = session.posargs or ["--quick", "--bench", r"^(ci|environment)\.", "HEAD~2..HEAD"]
    session.run("asv", "run", *envs, *args)
    session.run("asv", "publish")
    session.log(f"site: {os.path.abspath('.asv/html')}/index.html (asv preview serves it)")


CMAP_SOURCES = sorted(p for p in glob.glob("impls/csrc/*.c") if not p.endswith("/selftest.c"))
# Sanitizers see every allocation only with malloc'd bucket arrays (CM_NO_MMAP).
SANITIZE = "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
SANITIZE_CFLAGS = f"{SANITIZE} -g -O1 -DCM_NO_MMAP"


@nox.session(python=MAIN_VERSION or False)
def sanitize(session: nox.Session) -> None:
    """The C code under ASan+UBSan: the maps' C self-test (3 builds, huge sizes, bad lengths),
    then their tests and the allocation counter's."""
    _require_python(session)
    tmp = session.create_tmp()
    exe = os.path.join(tmp, "selftest")
    sources = ["impls/csrc/selftest.c", *CMAP_SOURCES]
    session.run("cc", "-std=c11", *SANITIZE_CFLAGS.split(), "-o", exe, *sources, external=True)
    # The self-test asks for impossible tables (2**47 slots) and expects a clean failure, which
    # ASan gives only when allocations may return NULL instead of aborting.
    asan = "detect_leaks=1:allocator_may_return_null=1"
    session.run(exe, env={"ASAN_OPTIONS": asan}, external=True)
    # The instrumented build (clock reads) and the bare build must be sanitizer-clean too.
    for define in ("-DCM_TIME_INSERTS", "-DCM_NO_COUNTERS"):
        variant = f"{exe}{define.lower()}"
        cmd = ["cc", "-std=c11", *SANITIZE_CFLAGS.split(), define, "-o", variant, *sources]
        session.run(*cmd, external=True)
        session.run(variant, env={"ASAN_OPTIONS": asan}, external=True)
    # A clean copy, so that setuptools cannot reuse an unsanitized build/ from the checkout.
    src = os.path.join(tmp, "src")
    shutil.rmtree(src, ignore_errors=True)
    skip = (".git", ".nox", ".asv", "build", "results", "*.so", "*.egg-info", "__pycache__")
    shutil.copytree(".", src, ignore=shutil.ignore_patterns(*skip))
    flags = {"CFLAGS": SANITIZE_CFLAGS, "LDFLAGS": "-fsanitize=address,undefined"}
    session.install("--no-cache-dir", f"{src}[test]", env=flags)  # a path: always rebuilt
    libasan = session.run("cc", "-print-file-name=libasan.so", silent=True, external=True)
    env = {
        # ctypes loads the sanitized library into an unsanitized python: ASan's runtime must come
        # first. CPython keeps memory until exit on purpose, so leaks are left to `nox -s valgrind`.
        "LD_PRELOAD": str(libasan).strip(),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        "PYTHONMALLOC": "malloc",  # so ASan also guards the Python buffers the C code writes into
    }
    maps = [f"--map=c-{s}" for s in ("linear", "quadratic", "double", "gobucket", "swiss")]
    maps.append("--map=c-gobucket,incremental=False")
    session.chdir("tests")
    suites = ["test_conformance.py", "test_conformance_contract.py", "test_cmaps.py"]
    session.run("pytest", "-p", "no:cacheprovider", "--rootdir", "..", *maps, *suites, env=env)
    # The allocation counter (C, hooks Python's allocator); memray is not run under ASan.
    counter = ["test_measure_allocations.py", "-k", "counter"]
    session.run("pytest", "-p", "no:cacheprovider", "--rootdir", "..", *counter, env=env)


@nox.session(python=MAIN_VERSION or False)
def valgrind(session: nox.Session) -> None:
    """memcheck: the C maps' self-test and Python driving every scheme; no errors, no leaks."""
    _require_python(session)
    install_current(session)
    session.run("python", "tests/cmaps_memcheck.py")


@nox.session(python=MAIN_VERSION or False)
def ci(session: nox.Session) -> None:
    """`mapbench ci BASE HEAD` (default: main HEAD): commits interleaved; fails on a regression.

    `nox -s ci -- BASE HEAD [options]`; the report lands in ci-report/ (see docs/ci.md).
    """
    _require_python(session)
    install_current(session, ".[asv]")
    session.run("mapbench", "ci", *(session.posargs or ["main", "HEAD"]))
