"""`mapbench probe`: measured mean probe lengths at a target load, next to Knuth's expected values.

How the tables are built and what the theory is: `mapbench.measure.probe_load`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from mapbench.errors import UsageError
from mapbench.measure import Unmeasurable
from mapbench.measure.probe_load import (
    BUILD_MAX_LOAD,
    DEFAULT_CAPACITY,
    DEFAULT_LOADS,
    ProbeRow,
    measure_at_load,
)
from mapbench.registry import parse_spec
from mapbench.text_tables import format_table


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
    try:
        rows = [measure_at_load(spec, load, args.capacity, args.seed) for load in loads]
    except Unmeasurable as exc:
        raise UsageError(f"map {spec.label!r}: {exc}") from None
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(format_rows(rows))
    return 0
