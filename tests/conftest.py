"""Shared fixtures: the maps under test come from the registry, so new maps are covered for free."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mapbench.protocol import Map
from mapbench.registry import MapSpec, parse_spec, registry


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--map",
        action="append",
        default=[],
        metavar="SPEC",
        help="run the conformance suite on these map specs only (e.g. ./my_map.py:MyMap)",
    )


def map_specs(config: pytest.Config) -> list[str]:
    """The maps under test: --map specs if given, else every available registered map."""
    given: list[str] = config.getoption("--map")
    return given or [name for name, info in registry().items() if info.available]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "map_spec" in metafunc.fixturenames:
        specs = map_specs(metafunc.config)
        metafunc.parametrize("map_spec", [parse_spec(s) for s in specs], ids=specs)


@pytest.fixture
def make_map(map_spec: MapSpec, tmp_path: Path) -> Iterator[Callable[[], Map]]:
    """A factory of fresh maps of the kind under test, all closed after the test.

    Maps that need files (persistent ones) create them in this test's temporary directory.
    """
    created: list[Map] = []
    saved_tempdir = tempfile.tempdir
    tempfile.tempdir = str(tmp_path)

    def make() -> Map:
        m = map_spec.create()
        created.append(m)
        return m

    try:
        yield make
    finally:
        for m in created:
            m.close()
        tempfile.tempdir = saved_tempdir
