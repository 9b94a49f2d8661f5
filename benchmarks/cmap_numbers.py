"""Issue 4's numbers for the C maps, printed as Markdown tables for docs/cmap.md.

    python benchmarks/cmap_numbers.py [--quick] [--json numbers.json]

1. Mean probe lengths of linear probing and double hashing at load 0.5/0.75/0.9 next to Knuth's
   values (deterministic for the seed; theory is modelled).
2. Batch lookups of 1M int keys: ns/op for every scheme (one C call, no per-call overhead) next to
   `dict` lookups in a Python loop and per-key calls into the C maps (noisy: min and median of
   repetitions run interleaved, A B C ... A B C, so that bursts of noise hit every map alike).
3. The longest single insert while growing from 0 to 1M keys, for gobucket with incremental
   evacuation on and off and for the other (full-rehash) schemes, plus the deterministic count of
   entries one insert moved.

A script, not an asv suite (it defines no `time_*` names); it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from mapbench.impls.cmaps import SCHEMES, CMap

from mapbench._table import format_markdown_table
from mapbench.environment import environment
from mapbench.measure.probe_load import ProbeRow, measure_at_load, random_keys
from mapbench.measure.probes import probe_stats_of
from mapbench.measure.timing import time_batches, time_call
from mapbench.registry import parse_spec
from mapbench.schema import Measurement


def knuth(capacity: int, seed: int) -> tuple[str, list[Measurement]]:
    rows = [
        measure_at_load(parse_spec(f"c-{scheme}"), load, capacity, seed)
        for scheme in ("linear", "double")
        for load in (0.5, 0.75, 0.9)
    ]
    found = [
        Measurement(f"{r.map}/{what}_mean/load={r.target_load}", value, "probes", kind)
        for r in rows
        for what, value, kind in (
            ("hit", r.hit_mean, "deterministic"),
            ("miss", r.miss_mean, "deterministic"),
            ("theory_hit", r.theory_hit_mean, "modelled"),
            ("theory_miss", r.theory_miss_mean, "modelled"),
        )
        if value is not None
    ]
    return _knuth_table(rows), found


def _timed(run: Callable[[], object], ops: int) -> float:
    return time_call(run, ops) * 1e9  # ns per operation


def _knuth_table(rows: list[ProbeRow]) -> str:
    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    headers = ("map", "load", "hit measured", "hit Knuth (modelled)", "miss measured",
               "miss Knuth (modelled)")  # fmt: skip
    cells = [
        (
            r.map,
            f"{r.load:.2f}",
            num(r.hit_mean),
            num(r.theory_hit_mean),
            num(r.miss_mean),
            num(r.theory_miss_mean),
        )
        for r in rows
    ]
    return format_markdown_table(headers, cells)


def batch_lookups(n: int, repeats: int, seed: int) -> tuple[str, list[Measurement]]:
    keys = random_keys(n, seed)
    order = array("q", keys)
    random.Random(seed).shuffle(order)  # look up in an order unrelated to insertion
    per_call = order[: min(n, 100_000)]
    maps = {scheme: CMap(scheme) for scheme in SCHEMES}
    for m in maps.values():
        m.insert_many(keys, keys)
    d = dict.fromkeys(keys.tolist(), 0)
    py_order = order.tolist()

    def dict_loop() -> None:
        for k in py_order:
            d[k]

    def per_key(m: CMap) -> Callable[[], None]:
        def run() -> None:
            for k in per_call:
                m[k]

        return run

    runs: dict[str, tuple[Callable[[], object], int]] = {"dict (Python loop)": (dict_loop, n)}
    for scheme, m in maps.items():
        runs[f"c-{scheme} lookup_many"] = (lambda m=m: m.lookup_many(order), n)
    for scheme, m in maps.items():
        runs[f"c-{scheme} m[k] in a Python loop"] = (per_key(m), len(per_call))
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run, ops) in runs.items():
            samples[name].append(_timed(run, ops))
    for m in maps.values():
        m.close()
    rows = [(name, f"{min(s):.1f}", f"{statistics.median(s):.1f}") for name, s in samples.items()]
    table = format_markdown_table(("lookups of 1M int keys", "ns/op (min)", "ns/op (median)"), rows)
    found = [
        Measurement(f"{name}/lookup_ns", min(s), "ns", "noisy", tuple(s))
        for name, s in samples.items()
    ]
    return table, found


GROWTH = [
    ("gobucket, incremental evacuation", "gobucket", {"incremental": True}),
    ("gobucket, evacuation off (full rehash)", "gobucket", {"incremental": False}),
    *((f"{s} (full rehash)", s, {}) for s in ("linear", "quadratic", "double", "swiss")),
]


def growth(n: int, repeats: int, seed: int) -> tuple[str, list[Measurement]]:
    keys = random_keys(n, seed)
    longest: dict[str, list[float]] = {label: [] for label, _, _ in GROWTH}
    insert_ns: dict[str, list[float]] = {label: [] for label, _, _ in GROWTH}
    shape: dict[str, Any] = {}
    view = memoryview(keys)
    for _ in range(repeats):
        for label, scheme, options in GROWTH:
            m = CMap(scheme, **options)
            insert_ns[label].append(_timed(lambda m=m: m.insert_many(keys, keys), n))
            stats = probe_stats_of(m)
            m.close()
            # The longest single insert, timed from outside: one insert_many call per key.
            m = CMap(scheme, **options)
            each = time_batches(lambda a, b, m=m: m.insert_many(view[a:b], view[a:b]), n, 1)
            m.close()
            longest[label].append(max(each))
            shape[label] = (stats.resizes, int(stats.extra["max_insert_moves"]))
    rows = [
        (
            label,
            f"{min(longest[label]) / 1e3:.1f}",
            f"{statistics.median(longest[label]) / 1e3:.1f}",
            shape[label][1],
            shape[label][0],
            f"{statistics.median(insert_ns[label]):.0f}",
        )
        for label, _, _ in GROWTH
    ]
    headers = (
        f"growing 0 to {n:,} keys",
        "longest insert µs (min)",
        "longest insert µs (median)",
        "most entries moved by one insert",
        "resizes",
        "ns/insert (median)",
    )
    found = [
        Measurement(f"{label}/longest_insert_ns", min(v), "ns", "noisy", tuple(v))
        for label, v in longest.items()
    ] + [
        Measurement(f"{label}/max_insert_moves", shape[label][1], "entries", "deterministic")
        for label in longest
    ]
    return format_markdown_table(headers, rows), found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100k keys, fewer repetitions")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, help="timing repetitions (default 7, quick 3)")
    args = parser.parse_args(argv)
    n, repeats = (100_000, 3) if args.quick else (1_000_000, 7)
    repeats = args.repeats or repeats
    env = environment()
    print(
        f"Python {env['python']} on {env['platform']}, {env['cpu_count']} CPUs, {env['timestamp']}"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at start: {load} (timings are noisy when it exceeds the CPU count)")
    measurements: list[Measurement] = []
    for title, (text, found) in (
        ("Mean probe lengths vs Knuth (capacity 2**20)", knuth(2**20, args.seed)),
        ("Batch lookups", batch_lookups(n, repeats, args.seed)),
        ("Longest single insert while growing", growth(n, max(3, repeats // 2), args.seed)),
    ):
        print(f"\n## {title}\n\n{text}")
        measurements += found
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": msgspec.to_builtins(measurements)}, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
