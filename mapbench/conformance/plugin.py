"""The pytest plugin of the conformance kit (entry point `pytest11`: loaded by every pytest run
where mapbench is installed).

- `--map SPEC` (repeatable) chooses the maps under test; given without test paths, it runs
  the installed suite, so `pytest --map ./my_map.py:MyMap` works from any directory.
- Tests that take `map_spec` or `make_map` are parametrized over those maps, else over every
  available registered map.
- `--conform-deep` searches in the deep profile for `--conform-budget` seconds; `--conform-seed`
  repeats a run's random programs.
- With `--map`, pytest's cache lives in mapbench's cache directory, and a kit test that fails
  with an error from the map reports that error and where the map raised it.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mapbench._child import describe_exception
from mapbench.conformance import DEEP_BUDGET, suite_paths
from mapbench.conformance._program import where_raised

if TYPE_CHECKING:
    from mapbench.protocol import Map
    from mapbench.registry import MapSpec


@dataclass(frozen=True)
class Profile:
    """How hard the kit searches. Quick: sizes to 300, boundaries to 2**10, random programs
    for a second, shrinking for at most 30 s. Deep, within `budget` seconds per map: sizes to
    1,000, boundaries to 2**14, random programs for half the budget, shrinking for at most a
    quarter (the guided programs take the rest, a few seconds for an in-memory map)."""

    deep: bool
    budget: float
    seed: int

    @property
    def sizes(self) -> int:
        return 1000 if self.deep else 300

    @property
    def boundaries(self) -> int:
        return 2**14 if self.deep else 2**10

    @property
    def steps(self) -> int:
        """The longest random program."""
        return 100 if self.deep else 50

    @property
    def random_seconds(self) -> float:
        return self.budget / 2 if self.deep else QUICK_RANDOM_SECONDS

    @property
    def shrink_seconds(self) -> float:
        return self.budget / 4 if self.deep else QUICK_SHRINK_SECONDS


QUICK_RANDOM_SECONDS = 1.0
QUICK_SHRINK_SECONDS = 30.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mapbench", "mapbench conformance suite")
    group.addoption(
        "--map",
        action="append",
        default=[],
        metavar="SPEC",
        help="run the conformance suite on this map spec (repeatable; e.g. ./my_map.py:MyMap); "
        "without test paths, the installed suite runs",
    )
    group.addoption(
        "--conform-deep",
        action="store_true",
        help="deep profile: larger sizes, random programs for --conform-budget seconds",
    )
    group.addoption(
        "--conform-budget",
        type=float,
        default=DEEP_BUDGET,
        metavar="SECONDS",
        help=f"time of the deep random search per map (default {DEEP_BUDGET:g})",
    )
    group.addoption(
        "--conform-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the random programs (default: a new one each run, printed on failure)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Before the cache plugin reads cache_dir (its hook is tryfirst too; ours registers later,
    # so it runs first): with --map, pytest's cache goes to mapbench's cache directory.
    if config.getoption("map") and "cache_dir" not in config.inicfg:
        from mapbench.builder import cache_dir

        config.inicfg["cache_dir"] = str(cache_dir() / "pytest")
        os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache_dir() / "hypothesis"))
    # `pytest --map SPEC` alone: run the installed suite rather than whatever lies in the cwd.
    if config.getoption("map") and config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = suite_paths()
    if config.getoption("conform_seed") is None:
        config.option.conform_seed = random.SystemRandom().randrange(2**32)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """A kit test that fails with an error raised in the map's code reports the error and
    where the map raised it, not the kit's traceback (an error of the kit keeps its own)."""
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    excinfo = call.excinfo
    if report.failed and excinfo is not None and _in_kit(item):
        where = where_raised(excinfo.value)
        if where and not excinfo.errisinstance(pytest.fail.Exception):
            report.longrepr = f"the map raised {describe_exception(excinfo.value)} ({where})"


def _in_kit(item: pytest.Item) -> bool:
    return Path(str(item.path)).resolve().parent == Path(suite_paths()[0]).parent


def map_specs(config: pytest.Config) -> list[str]:
    """The maps under test: --map specs if given, else every available registered map."""
    from mapbench.registry import registry

    given: list[str] = config.getoption("map")
    return given or [name for name, info in registry().items() if info.available]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "map_spec" in metafunc.fixturenames:
        from mapbench.registry import parse_spec

        specs = map_specs(metafunc.config)
        metafunc.parametrize("map_spec", [parse_spec(s) for s in specs], ids=specs)


@pytest.fixture
def conform_profile(request: pytest.FixtureRequest) -> Profile:
    """The search profile chosen on the command line."""
    option = request.config.getoption
    return Profile(
        bool(option("conform_deep")), float(option("conform_budget")), option("conform_seed")
    )


@pytest.fixture
def map_tempdir(tmp_path: Path) -> Iterator[Path]:
    """This test's temporary directory, made `tempfile`'s default while the test runs.

    Maps that need files (persistent ones) create them there, so the suite can check that
    they clean up after themselves.
    """
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp_path)
    try:
        yield tmp_path
    finally:
        tempfile.tempdir = saved


@pytest.fixture
def make_map(map_spec: MapSpec, map_tempdir: Path) -> Iterator[Callable[[], Map]]:
    """A factory of fresh maps of the kind under test, all closed after the test."""
    created: list[Map] = []

    def make() -> Map:
        m = map_spec.create()
        created.append(m)
        return m

    try:
        yield make
    finally:
        for m in created:
            m.close()
