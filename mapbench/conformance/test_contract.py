"""The mapping contract, clause by clause, as programs run on the map and on a dict side by side.

Guided programs (the same every run) come first: one per clause, every size up to a few
hundred keys, and the sizes around growth and shrink boundaries; then random programs, seeded,
for the rest of the profile's time. A failure is reported as the clause it breaks, the shortest
program found that shows it, and what dict does against what the map does; never as a
traceback of the kit. What the kit assumed of the map (key families, order, methods) is part
of the message.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mapbench.conformance._explore import (
    Probe,
    boundary_probes,
    clause_probes,
    random_probes,
    search,
    size_probes,
)
from mapbench.conformance.assumptions import Assumptions, assume
from mapbench.conformance.keys import Family
from mapbench.conformance.plugin import Profile
from mapbench.registry import MapSpec

Probes = Callable[[Assumptions, tuple[Family, ...], Profile], Iterator[Probe]]


def check(map_spec: MapSpec, profile: Profile, probes: Probes, seconds: float | None) -> None:
    """Run `probes` on every key group the map takes, for `seconds` in all (None: every probe);
    fail with the first failure's message."""
    assumptions = assume(map_spec.create)
    for group in assumptions.groups:
        share = None if seconds is None else seconds / len(assumptions.groups)
        found = search(
            map_spec.create,
            map_spec.label,
            assumptions,
            probes(assumptions, group, profile),
            deadline=None if share is None else time.monotonic() + share,
            shrink_seconds=profile.shrink_seconds,
            seed=profile.seed,
        )
        if found is not None:
            pytest.fail(found.message(), pytrace=False)


def _clauses(a: Assumptions, group: tuple[Family, ...], _profile: Profile) -> Iterator[Probe]:
    yield from clause_probes(a, group)


def _sizes(_a: Assumptions, group: tuple[Family, ...], profile: Profile) -> Iterator[Probe]:
    yield from size_probes(group, profile.sizes)


def _boundaries(a: Assumptions, group: tuple[Family, ...], profile: Profile) -> Iterator[Probe]:
    yield from boundary_probes(a, group, profile.boundaries, profile.deep)


def _random(a: Assumptions, group: tuple[Family, ...], profile: Profile) -> Iterator[Probe]:
    rng = random.Random(f"{profile.seed}/{'/'.join(f.name for f in group)}")
    yield from random_probes(a, group, rng, profile.steps)


def test_every_clause(map_spec: MapSpec, map_tempdir: Any, conform_profile: Profile) -> None:
    check(map_spec, conform_profile, _clauses, seconds=None)


def test_every_size(map_spec: MapSpec, map_tempdir: Any, conform_profile: Profile) -> None:
    check(map_spec, conform_profile, _sizes, seconds=None)


def test_growth_and_shrink_boundaries(
    map_spec: MapSpec, map_tempdir: Any, conform_profile: Profile
) -> None:
    check(map_spec, conform_profile, _boundaries, seconds=None)


def test_random_programs(map_spec: MapSpec, map_tempdir: Any, conform_profile: Profile) -> None:
    check(map_spec, conform_profile, _random, seconds=conform_profile.random_seconds)
