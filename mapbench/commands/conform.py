"""`mapbench conform SPEC...`: the installed conformance suite on maps, from any directory.

It runs pytest on `mapbench.conformance` in this process, isolated from the directory it is
run in: no configuration files or conftest.py files of the current directory are used, and
pytest's cache lives in mapbench's cache directory. It first prints what the kit assumes of
each map given. Exit status 0 when every map passes, 1 when one fails, 2 for a spec that names
no map; `--explain CLAUSE` prints a clause of the contract.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mapbench.conformance import DEEP_BUDGET, SUITE_IMPORTS
from mapbench.errors import UsageError
from mapbench.project import configured_maps

PLUGIN = "mapbench.conformance.plugin"
_IMPORTED_PLUGIN_PACKAGES = ("mapbench", "hypothesis", "_hypothesis")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--explain",
        metavar="CLAUSE",
        help="print a clause of the contract that failures name (all: every clause), and exit",
    )
    parser.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="map specs (e.g. ./my_map.py:MyMap, sortedcontainers:SortedDict, sharded); "
        "default: the maps of pyproject.toml's [tool.mapbench], else every available one",
    )
    parser.add_argument(
        "--deep",
        action="store_true",
        help=f"larger sizes and boundaries, and random programs for --budget seconds per map "
        f"(default {DEEP_BUDGET:g}) instead of one second",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=DEEP_BUDGET,
        metavar="SECONDS",
        help="time of the deep random search per map (and the limit of shrinking)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seed of the random programs, to repeat a run (default: new, printed on failure)",
    )
    parser.add_argument("-k", metavar="EXPR", help="only tests matching EXPR (as pytest -k)")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per test")


def cmd_conform(args: argparse.Namespace) -> int:
    if args.explain is not None:
        print(explain(args.explain))
        return 0
    if importlib.util.find_spec("pytest") is None:
        raise UsageError("the conformance suite needs pytest: pip install 'mapbench[conform]'")
    if args.budget <= 0:
        raise UsageError(f"--budget must be positive, not {args.budget:g}")
    args.specs = configured_maps(args.specs)
    for text in args.specs:
        check_spec(text)
    with _collector_off_until_tests() as plugin:
        return _run_suite(args, plugin)


def _run_suite(args: argparse.Namespace, plugin: _FreezeAfterCollection) -> int:
    import pytest

    from mapbench.builder import cache_dir
    from mapbench.conformance import suite_paths

    with tempfile.TemporaryDirectory(prefix="mapbench-conform-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        # hypothesis (the stateful test) keeps its caches in .hypothesis/ of the cwd, which is
        # the user's: they go to mapbench's cache instead (read when hypothesis is imported).
        os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache_dir() / "hypothesis"))
        # What the suite imports, imported before pytest starts: pytest rewrites the asserts of
        # every module of a plugin's distribution imported after it starts, hypothesis's whole
        # package among them (a third of a second, again on every run when bytecode is not
        # cached). Only the suite's own test modules need their asserts rewritten.
        for name in SUITE_IMPORTS:
            importlib.import_module(name)
        argv = [
            *suite_paths(),
            *(f"--map={text}" for text in args.specs),
            *_plugin_args(),
            "-c",
            str(ini),
            f"--rootdir={Path(suite_paths()[0]).parent}",
            f"--confcutdir={Path(suite_paths()[0]).parent}",
            "-o",
            f"cache_dir={cache_dir() / 'pytest'}",
            # pytest would rewrite the asserts of mapbench, this running plugin's package, and
            # of hypothesis: it says it cannot, as they are imported (the suite's modules are
            # not yet). Each -W is a literal prefix of the message.
            *_ignore_already_imported(),
            "-rfEs",
            "-v" if args.verbose else "-q",
        ]
        if args.deep:
            argv += ["--conform-deep", f"--conform-budget={args.budget}"]
        if args.seed is not None:
            argv.append(f"--conform-seed={args.seed}")
        if args.k:
            argv += ["-k", args.k]
        if args.exitfirst:
            argv.append("-x")
        code = pytest.main(argv, plugins=[plugin])
    if code == pytest.ExitCode.OK:
        return 0
    if code == pytest.ExitCode.TESTS_FAILED:
        return 1
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt
    raise UsageError(f"pytest stopped with {code!r}")


class _FreezeAfterCollection:
    """A pytest plugin of `mapbench conform`'s run: once the suite is collected, what exists
    then (modules, classes, the collected tests: none of it garbage) is frozen out of the
    cyclic garbage collector, and the collector, off until then, is turned back on."""

    def __init__(self, enable: bool) -> None:
        self.enable = enable

    def pytest_collection_finish(self, session: Any) -> None:
        gc.freeze()
        if self.enable:
            gc.enable()


@contextlib.contextmanager
def _collector_off_until_tests() -> Iterator[_FreezeAfterCollection]:
    """No cyclic garbage collection while pytest starts and imports the suite, and none of
    what that made is walked again by the collections during the tests (a full collection
    walks every object: pytest's, hypothesis's and mapbench's, several times per run). The
    tests themselves run with the collector on, as under plain pytest; afterwards it is as
    it was."""
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    try:
        yield _FreezeAfterCollection(enabled)
    finally:
        if not frozen:  # else what was frozen before is not told apart from what this froze
            gc.unfreeze()
        if enabled:
            gc.enable()


def explain(name: str) -> str:
    """The clause `name` (or every clause, for "all"), or a one-line error naming them."""
    from mapbench.conformance.clauses import CLAUSES

    if name == "all":
        return "\n\n".join(clause.explain() for clause in CLAUSES.values())
    if name not in CLAUSES:
        raise UsageError(f"no clause {name!r}; clauses: all, {', '.join(CLAUSES)}")
    return CLAUSES[name].explain()


def check_spec(text: str) -> None:
    """Raise a one-line error for a spec that names no map, or a map that cannot be one; print
    what the kit assumes of the map (its key families, order and methods)."""
    from mapbench.conformance.assumptions import assume
    from mapbench.registry import MapUnavailableError, parse_spec
    from mapbench.spec import MapSpecError

    spec = parse_spec(text)
    if not spec.info.available:
        raise MapUnavailableError(f"map {text!r} is unavailable: {spec.info.unavailable}")
    try:
        assumed = assume(spec.create)
    except MapSpecError:  # a class that cannot be adapted: not a map at all
        raise
    except Exception:  # a map that fails to build fails its tests: pytest reports it there
        return
    print(f"{text}: assumed {assumed.describe()}")


def _ignore_already_imported() -> list[str]:
    """-W options: pytest's warning that it cannot rewrite the asserts of modules imported
    before it started (mapbench's, hypothesis's), ignored; each is a literal message prefix."""
    ignore = "ignore:Module already imported so cannot be rewritten"
    return [arg for name in _IMPORTED_PLUGIN_PACKAGES for arg in ("-W", f"{ignore}; {name}")]


def _plugin_args() -> list[str]:
    """`-p` for the plugin only when pytest will not load it from its entry point itself."""
    autoload = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    registered = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return [] if autoload and registered else ["-p", PLUGIN]
