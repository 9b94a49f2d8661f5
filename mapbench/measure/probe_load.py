"""Tables built to an exact load factor, and their measured probe lengths next to theory.

The table is built to exactly the target load: when the map takes `capacity` and `max_load`
options (the C open-addressing and swiss maps do) it gets a fixed power-of-two capacity and a
maximum load above the target, so no resize happens, then receives `round(load * capacity)`
random int64 keys. The theory columns are Knuth's formulas (TAOCP vol. 3, section 6.4) for large
tables: computed, not measured, and labelled "modelled".
"""

from __future__ import annotations

import inspect
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mapbench import theory
from mapbench.measure.probes import probe_stats_of
from mapbench.protocol import BatchOps, ProbeStats
from mapbench.registry import MapSpec

DEFAULT_LOADS = (0.5, 0.75, 0.9)
DEFAULT_CAPACITY = 2**20
BUILD_MAX_LOAD = 0.95  # the C maps' highest allowed max_load: room for every target load below it


# scheme -> (name of the model, (hit, miss) expected probes at load a, counted including the last)
THEORY: dict[str, tuple[str, Callable[[float], tuple[float, float]]]] = {
    "linear": ("Knuth: linear probing", theory.linear_means),
    "double": ("Knuth: uniform hashing (double hashing approximates it)", theory.uniform_means),
    "quadratic": (
        "Knuth: secondary clustering (approximates quadratic probing)",
        theory.secondary_clustering_means,
    ),
}


@dataclass(frozen=True)
class ProbeRow:
    """One map at one load: measured means (deterministic for a seed) and theory (modelled)."""

    map: str
    target_load: float
    load: float
    size: int
    capacity: int
    probe_unit: str
    hit_mean: float
    miss_mean: float
    hit_max: int
    miss_max: int
    theory: str | None
    theory_hit_mean: float | None
    theory_miss_mean: float | None


def expected(scheme: str | None, load: float) -> tuple[str, float, float] | None:
    """Knuth's (model name, hit mean, miss mean) for a scheme at `load`, if there is a formula."""
    if scheme not in THEORY or not 0 < load < 1:
        return None
    name, formula = THEORY[scheme]
    hit, miss = formula(load)
    return name, hit, miss


def random_keys(n: int, seed: int) -> array[int]:
    """`n` distinct random int64 keys, the same for the same seed."""
    rng = random.Random(seed)
    seen: set[int] = set()
    keys = array("q")
    while len(keys) < n:
        key = rng.getrandbits(64) - 2**63
        if key not in seen:
            seen.add(key)
            keys.append(key)
    return keys


def _build_options(spec: MapSpec, capacity: int) -> dict[str, Any]:
    try:
        accepted = set(inspect.signature(spec.info.factory).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # no factory, or a builtin without a signature
        accepted = set()
    wanted = {"capacity": capacity, "max_load": BUILD_MAX_LOAD}
    return {k: v for k, v in wanted.items() if k in accepted and k not in spec.options}


def measure_at_load(spec: MapSpec, load: float, capacity: int, seed: int) -> ProbeRow:
    """Build a table of `spec` at `load` of `capacity` with random int keys and read its stats."""
    m = spec.info.create(**{**spec.options, **_build_options(spec, capacity)})
    try:
        keys = random_keys(round(load * capacity), seed)
        if isinstance(m, BatchOps):
            m.insert_many(keys, keys)
        else:
            for k in keys:
                m[k] = k
        stats = probe_stats_of(m)
        scheme = getattr(m, "scheme", None)
    finally:
        m.close()
    return _row(spec.label, load, stats, expected(scheme, stats.load_factor))


def _row(
    label: str, target: float, s: ProbeStats, theory: tuple[str, float, float] | None
) -> ProbeRow:
    return ProbeRow(
        map=label,
        target_load=target,
        load=s.load_factor,
        size=s.size,
        capacity=s.capacity,
        probe_unit=s.probe_unit,
        hit_mean=s.hit_mean,
        miss_mean=s.miss_mean,
        hit_max=s.hit_max,
        miss_max=s.miss_max,
        theory=theory[0] if theory else None,
        theory_hit_mean=theory[1] if theory else None,
        theory_miss_mean=theory[2] if theory else None,
    )


__all__ = ["BUILD_MAX_LOAD", "DEFAULT_CAPACITY", "DEFAULT_LOADS", "ProbeRow", "expected",
           "measure_at_load", "random_keys"]  # fmt: skip
