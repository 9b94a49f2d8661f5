"""The pytest plugin of the conformance kit (entry point `pytest11`: loaded by every pytest run
where mapbench is installed).

- `--map SPEC` (repeatable) chooses the maps under test; given without test paths, it runs
  the installed suite, so `pytest --map ./my_map.py:MyMap` works from any directory.
- Tests that take `map_spec` or `make_map` are parametrized over those maps, else over every
  available registered map.
- `--conform-deep` runs the stateful test in its deep profile for `--conform-budget` seconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mapbench.conformance import DEEP_BUDGET, suite_paths

if TYPE_CHECKING:
    from mapbench.protocol import Map
    from mapbench.registry import MapSpec


@dataclass(frozen=True)
class Profile:
    """How hard the stateful test searches: `deep` repeats it until `budget` seconds pass."""

    deep: bool
    budget: float


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
        help="deep profile: repeat the stateful test until --conform-budget seconds pass",
    )
    group.addoption(
        "--conform-budget",
        type=float,
        default=DEEP_BUDGET,
        metavar="SECONDS",
        help=f"time of the deep stateful search per map (default {DEEP_BUDGET:g})",
    )


def pytest_configure(config: pytest.Config) -> None:
    # `pytest --map SPEC` alone: run the installed suite rather than whatever lies in the cwd.
    if config.getoption("map") and config.args_source is not pytest.Config.ArgsSource.ARGS:
        config.args[:] = suite_paths()


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
    budget = float(request.config.getoption("conform_budget"))
    return Profile(deep=bool(request.config.getoption("conform_deep")), budget=budget)


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
