"""Developer tasks: `python3 -m nox -s tests` (every Python), `lint`, `typecheck`, `demo`...

pyenv's shims (`python3.12` on PATH) fail inside the virtual environments nox builds, so the
real interpreters under /root/.pyenv/versions come first on PATH; a missing one is skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# The full suite, slow end-to-end tests included, runs on this one; the others run the fast suite.
PRIMARY_PYTHON = "3.12"
PYENV_ROOT = os.environ.get("PYENV_ROOT", "/root/.pyenv")

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True


def _real_interpreter_dirs() -> dict[str, str]:
    """The bin directory of the newest installed patch release of each supported Python."""
    found = {}
    for version in PYTHONS:
        candidates = sorted(
            glob.glob(f"{PYENV_ROOT}/versions/{version}.*/bin/python{version}"),
            key=lambda p: [int(x) for x in p.split("/")[-3].split(".") if x.isdigit()],
        )
        if candidates:
            found[version] = os.path.dirname(candidates[-1])
    return found


INTERPRETERS = _real_interpreter_dirs()
os.environ["PATH"] = os.pathsep.join([*INTERPRETERS.values(), os.environ.get("PATH", "")])
for _missing in sorted(set(PYTHONS) - set(INTERPRETERS)):
    print(
        f"nox: Python {_missing} not found under {PYENV_ROOT}/versions; its sessions are skipped",
        file=sys.stderr,
    )


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The tests against the installed package (slow end-to-end ones on the primary Python)."""
    session.install(".[test,asv,browser,peers]")
    args = session.posargs or (["-m", "not slow"] if session.python != PRIMARY_PYTHON else [])
    # Run from tests/ so that the checkout's mapbench/ folder cannot shadow the installed package.
    session.chdir("tests")
    session.run("pytest", "-p", "no:cacheprovider", "--rootdir", "..", *args)


@nox.session(python=PRIMARY_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PRIMARY_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the installed package (mapbench, mapbench.impls and mapbench.reports)."""
    session.install("mypy", "pandas-stubs", ".[test,peers]")
    config = os.path.abspath("pyproject.toml")
    # From outside the checkout, mypy reads the installed package, where impls/ and reports/
    # sit inside mapbench/ as they do for users.
    session.chdir(session.create_tmp())
    session.run("mypy", "--config-file", config, "-p", "mapbench")


@nox.session(python=PRIMARY_PYTHON)
def demo(session: nox.Session) -> None:
    """The Quickstart's main job: a quick benchmark run of every map, ending in an HTML report."""
    session.install(".")
    out = "results/demo"
    # Exit status 1 means some benchmark failed: it is recorded, and the report shows it.
    session.run(
        "mapbench", "run", "--quick", "--output", out, *session.posargs, success_codes=[0, 1]
    )
    session.run("mapbench", "report", out, "-o", f"{out}/report.html")
    session.log(f"report: {os.path.abspath(out)}/report.html")


@nox.session(python=PRIMARY_PYTHON)
def peers(session: nox.Session) -> None:
    """The quick suite over dict, our maps and every available peer map: one report.

    Writes results/peers/ (results, report.html, and peers.md: the README's peers table).
    """
    session.install(".[peers]")
    out = "results/peers"
    session.run("mapbench", "list")
    # Exit status 1 means some benchmark failed: it is recorded, and the report shows it.
    session.run(
        "mapbench", "run", "--quick", "--output", out, *session.posargs, success_codes=[0, 1]
    )
    session.run("mapbench", "report", out, "-o", f"{out}/report.html")
    session.run("python", "benchmarks/peers_table.py", out, "-o", f"{out}/peers.md")
    session.log(f"report: {os.path.abspath(out)}/report.html")


@nox.session(python=PRIMARY_PYTHON)
def bench(session: nox.Session) -> None:
    """The pyperf suite on this interpreter (`nox -s bench -- --quick` for the two-minute run)."""
    session.install(".")
    session.run("mapbench", "run", *session.posargs)


@nox.session(name="bench-all", python=PRIMARY_PYTHON)
def bench_all(session: nox.Session) -> None:
    """The pyperf suite on every installed Python into one results directory, tagged by version."""
    session.install(".")
    pythons = [f"--python={v}" for v in INTERPRETERS]
    session.run("mapbench", "run", *pythons, *session.posargs)


@nox.session(python=PRIMARY_PYTHON)
def asv(session: nox.Session) -> None:
    """asv's CI subset over the last commits on the oldest and newest Python, then a site.

    `nox -s asv -- ARGS` replaces the `asv run` arguments (e.g. `-- HEAD~5..HEAD`).
    """
    session.install(".[asv]")
    session.run("asv", "machine", "--yes")
    found = list(INTERPRETERS)
    envs = [f"--environment=virtualenv:{v}" for v in dict.fromkeys([found[0], found[-1]])]
    args = session.posargs or ["--quick", "--bench", r"^(ci|environment)\.", "HEAD~2..HEAD"]
    session.run("asv", "run", *envs, *args)
    session.run("asv", "publish")
    session.log(f"site: {os.path.abspath('.asv/html')}/index.html (asv preview serves it)")


CMAP_SOURCES = [f"impls/csrc/{name}.c" for name in ("cmap", "open", "gobucket", "swiss")]
# Sanitizers see every allocation only with malloc'd bucket arrays (CM_NO_MMAP).
SANITIZE = "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
SANITIZE_CFLAGS = f"{SANITIZE} -g -O1 -DCM_NO_MMAP"


@nox.session(python=PRIMARY_PYTHON)
def sanitize(session: nox.Session) -> None:
    """The C maps under ASan+UBSan: their C self-test, then the conformance suite on each scheme."""
    tmp = session.create_tmp()
    exe = os.path.join(tmp, "selftest")
    sources = ["impls/csrc/selftest.c", *CMAP_SOURCES]
    session.run("cc", "-std=c11", *SANITIZE_CFLAGS.split(), "-o", exe, *sources, external=True)
    session.run(exe, env={"ASAN_OPTIONS": "detect_leaks=1"}, external=True)
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
    session.chdir("tests")
    suites = ["test_conformance.py", "test_conformance_stateful.py", "test_cmaps.py"]
    session.run("pytest", "-p", "no:cacheprovider", "--rootdir", "..", *maps, *suites, env=env)


@nox.session(python=PRIMARY_PYTHON)
def valgrind(session: nox.Session) -> None:
    """memcheck: the C maps' self-test and Python driving every scheme; no errors, no leaks."""
    session.install(".")
    session.run("python", "tests/cmaps_memcheck.py")


@nox.session(python=PRIMARY_PYTHON)
def ci(session: nox.Session) -> None:
    """`mapbench ci BASE HEAD` (default: main HEAD): commits interleaved; fails on a regression.

    `nox -s ci -- BASE HEAD [options]`; the report lands in ci-report/ (see docs/ci.md).
    """
    session.install(".[asv]")
    session.run("mapbench", "ci", *(session.posargs or ["main", "HEAD"]))
