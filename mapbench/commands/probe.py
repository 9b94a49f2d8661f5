"""`mapbench probe`: measured mean probe lengths at a target load, next to Knuth's expected values.

The table is built to exactly the target load: when the map takes `capacity` and `max_load` options
(the C open-addressing and swiss maps do) it gets a fixed power-of-two capacity and a maximum load
above the target, so no resize happens, then receives `round(load * capacity)` random int64 keys.
The theory columns are Knuth's formulas (TAOCP vol. 3, section 6.4) for large tables: computed,
not measured, and labelled "modelled".
"""

from __future__ import annotations

import argparse
import inspect
import json
import random
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from mapbench import theory
from mapbench._table import format_table
from mapbench.errors import UsageError
from mapbench.protocol import BatchOps, ProbeStats, ProbeStatsReporter
from mapbench.registry import MapSpec, parse_spec

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
        if not isinstance(m, ProbeStatsReporter):
            raise UsageError(f"map {spec.label!r} does not report probe statistics")
        keys = random_keys(round(load * capacity), seed)
        if isinstance(m, BatchOps):
            m.insert_many(keys, keys)
        else:
            for k in keys:
                m[k] = k
        stats = m.probe_stats()
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


def format_rows(rows: list[ProbeRow]) -> str:
    """The table for people: measured next to theory, with the relative difference."""

    def diff(measured: float, theory: float | None) -> str:
        return "-" if theory is None else f"{100 * (measured / theory - 1):+.1f}%"

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    headers = (
        "map", "load", "unit", "hit (measured)", "hit (theory, modelled)", "diff",
        "miss (measured)", "miss (theory, modelled)", "diff", "max hit/miss",
    )  # fmt: skip
    table = [
        (
            r.map,
            f"{r.load:.4f}",
            r.probe_unit,
            num(r.hit_mean),
            num(r.theory_hit_mean),
            diff(r.hit_mean, r.theory_hit_mean),
            num(r.miss_mean),
            num(r.theory_miss_mean),
            diff(r.miss_mean, r.theory_miss_mean),
            f"{r.hit_max}/{r.miss_max}",
        )
        for r in rows
    ]
    models = sorted({r.theory for r in rows if r.theory})
    notes = [f"theory (modelled, large-table limit): {m}" for m in models]
    if not models:
        notes.append("theory: no closed formula for this layout")
    return "\n".join([format_table(headers, table), *notes])


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="map spec, e.g. c-linear or c-double,seed=3")
    parser.add_argument(
        "--load",
        type=float,
        action="append",
        metavar="A",
        help=f"target load factor (repeatable; default {', '.join(map(str, DEFAULT_LOADS))})",
    )
    parser.add_argument(
        "--capacity", type=int, default=DEFAULT_CAPACITY, help="table slots (default 2**20)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random keys (default 1)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_probe(args: argparse.Namespace) -> int:
    loads: list[float] = args.load or list(DEFAULT_LOADS)
    for load in loads:
        if not 0 < load <= BUILD_MAX_LOAD:
            raise UsageError(f"--load must be in (0, {BUILD_MAX_LOAD}], not {load}")
    if args.capacity < 8:
        raise UsageError(f"--capacity must be at least 8, not {args.capacity}")
    spec = parse_spec(args.spec)
    rows = [measure_at_load(spec, load, args.capacity, args.seed) for load in loads]
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(format_rows(rows))
    return 0
