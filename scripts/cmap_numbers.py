"""The C maps' numbers, printed as Markdown tables for docs/cmap.md and README.md.

    python scripts/cmap_numbers.py [--quick] [--json numbers.json] [--repeats N]

1. Mean probe lengths of linear probing and double hashing at load 0.5/0.75/0.9 next to Knuth's
   values (deterministic for the seed; theory is modelled).
2. Lookups of 1M random int64 keys: `lookup_many` of every scheme (one C call for all keys) next to
   a `dict` looked up in a Python loop, and `m[k]` through the mapping API (one ctypes call per key,
   100k keys) per scheme. Repetitions run interleaved (A B C ... A B C) so that bursts of noise hit
   every row alike; the tables give the minimum and the median of the CPU time per operation.
3. Presized inserts of 1M keys (`insert_many` after `reserve`) with three builds of the library,
   compiled here from the package's C sources with the same flags: the default build; the
   instrumented build (-DCM_TIME_INSERTS: two clock reads per insert, as every build did before);
   and a bare build (-DCM_NO_COUNTERS: not even the exact move counters). Interleaved per scheme.
4. The longest single insert while growing from 0 to 1M keys (read from the instrumented build: the
   default build reads no clock), with the exact count of entries one insert moved.

The load average and the date are printed with the tables. A script in scripts/, which asv
does not scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import shlex
import statistics
import subprocess
import sysconfig
import tempfile
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from mapbench.impls import cmaps
from mapbench.impls.cmaps import SCHEMES, CMap

from mapbench.environment import environment
from mapbench.measure.probe_load import ProbeRow, measure_at_load, random_keys
from mapbench.measure.timing import time_call
from mapbench.registry import parse_spec
from mapbench.schema import Measurement
from mapbench.text_tables import format_markdown_table

BUILDS = {"default": [], "instrumented": ["-DCM_TIME_INSERTS"], "bare": ["-DCM_NO_COUNTERS"]}
PER_CALL_KEYS = 100_000


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


def _timed(run: Callable[[], object], ops: int) -> float:
    """ns/op in CPU time of this thread: time slices lent to other processes do not count, which
    on a shared machine is what recovers real differences that wall time loses."""
    return time_call(run, ops, cpu=True) * 1e9


def _interleaved(
    runs: dict[str, tuple[Callable[[], object], int]], repeats: int
) -> dict[str, list[float]]:
    """ns/op samples of every run, repetitions interleaved (A B C ... A B C ...)."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run, ops) in runs.items():
            samples[name].append(_timed(run, ops))
    return samples


def lookups(n: int, repeats: int, seed: int) -> tuple[str, list[Measurement]]:
    keys = random_keys(n, seed)
    order = array("q", keys)
    random.Random(seed).shuffle(order)  # look up in an order unrelated to insertion
    per_call = order[:PER_CALL_KEYS]
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

    def batch(m: CMap) -> Callable[[], None]:
        def run() -> None:
            if m.lookup_many(order) != n:
                raise AssertionError("lookup_many missed keys")

        return run

    runs: dict[str, tuple[Callable[[], object], int]] = {
        "`dict`, `d[k]` in a Python loop": (dict_loop, n)
    }
    runs |= {f"c-{s} `lookup_many`": (batch(m), n) for s, m in maps.items()}
    runs |= {f"c-{s} `m[k]` (mapping API)": (per_key(m), len(per_call)) for s, m in maps.items()}
    samples = _interleaved(runs, repeats)
    for m in maps.values():
        m.close()
    dict_min = min(samples["`dict`, `d[k]` in a Python loop"])
    rows = [
        (
            name,
            f"{min(s):.1f}",
            f"{statistics.median(s):.1f}",
            f"{dict_min / min(s):.1f}x" if "lookup_many" in name else "",
        )
        for name, s in samples.items()
    ]
    headers = (f"lookups, {n:,} int64 keys", "ns/op (min)", "ns/op (median)", "dict loop / this")
    found = [
        Measurement(f"{name}/lookup_ns", min(s), "ns", "noisy", tuple(s))
        for name, s in samples.items()
    ]
    return format_markdown_table(headers, rows), found


def compile_builds(directory: Path) -> dict[str, ctypes.PyDLL]:
    """The C library compiled from the package's sources once per entry of BUILDS, loaded."""
    csrc = Path(cmaps.__file__).parent / "csrc"
    sources = sorted(str(p) for p in csrc.glob("*.c") if p.name != "selftest.c")
    cc = sysconfig.get_config_var("CC") or "cc"
    flags = shlex.split(sysconfig.get_config_var("CFLAGS") or "")
    flags += [sysconfig.get_config_var("CCSHARED") or "-fPIC", "-shared", "-std=c11", "-O2"]
    libraries = {}
    for name, defines in BUILDS.items():
        out = directory / f"_cmap_{name}.so"
        subprocess.run([*shlex.split(cc), *flags, *defines, "-o", str(out), *sources], check=True)
        libraries[name] = cmaps.load_library(out)
    return libraries


def _c_table(lib: ctypes.PyDLL, scheme: str, **options: Any) -> int:
    max_load = 0.875 if scheme == "swiss" else 0.75
    handle = lib.cm_new(SCHEMES[scheme], 0, max_load, 0, options.get("incremental", True))
    if not handle:
        raise MemoryError(f"cannot create a {scheme} table")
    return int(handle)


def inserts(
    n: int, repeats: int, seed: int, libs: dict[str, ctypes.PyDLL]
) -> tuple[str, list[Measurement]]:
    keys = random_keys(n, seed)
    buffer = (ctypes.c_int64 * n).from_buffer(keys)

    def presized(lib: ctypes.PyDLL, scheme: str) -> float:
        """ns per insert into a reserved table whose memory was touched by an earlier fill."""
        h = _c_table(lib, scheme)
        try:
            if lib.cm_reserve(h, n) < 0 or lib.cm_insert_many(h, buffer, buffer, n) != n:
                raise MemoryError(f"cannot fill a {scheme} table")
            lib.cm_clear(h)  # keeps the capacity: the timed fill below takes no page faults
            return _timed(lambda: lib.cm_insert_many(h, buffer, buffer, n), n)
        finally:
            lib.cm_free(h)

    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for scheme in SCHEMES:
            for build, lib in libs.items():
                samples.setdefault((scheme, build), []).append(presized(lib, scheme))
    rows = []
    for scheme in SCHEMES:
        low = {build: min(samples[scheme, build]) for build in libs}
        med = {build: statistics.median(samples[scheme, build]) for build in libs}
        rows.append(
            (
                f"c-{scheme}",
                *(f"{low[b]:.1f} / {med[b]:.1f}" for b in libs),
                f"{low['default'] / low['bare'] - 1:+.1%}",
                f"{low['instrumented'] / low['default'] - 1:+.1%}",
            )
        )
    headers = (
        f"presized inserts, {n:,} keys",
        *(f"{b} ns/insert (min / median)" for b in libs),
        "default vs bare (min)",
        "instrumented vs default (min)",
    )
    found = [
        Measurement(f"c-{scheme}/{build}/presized_insert_ns", min(s), "ns", "noisy", tuple(s))
        for (scheme, build), s in samples.items()
    ]
    return format_markdown_table(headers, rows), found


GROWTH = [
    ("gobucket, incremental evacuation", "gobucket", {"incremental": True}),
    ("gobucket, evacuation off (full rehash)", "gobucket", {"incremental": False}),
    *((f"{s} (full rehash)", s, {}) for s in ("linear", "quadratic", "double", "swiss")),
]


def growth(n: int, repeats: int, seed: int, lib: ctypes.PyDLL) -> tuple[str, list[Measurement]]:
    """Longest insert (instrumented build) and entries moved by one insert while growing."""
    keys = random_keys(n, seed)
    buffer = (ctypes.c_int64 * n).from_buffer(keys)
    longest: dict[str, list[float]] = {label: [] for label, _, _ in GROWTH}
    shape: dict[str, tuple[int, int]] = {}
    for _ in range(repeats):
        for label, scheme, options in GROWTH:
            h = _c_table(lib, scheme, **options)
            try:
                if lib.cm_insert_many(h, buffer, buffer, n) != n:
                    raise MemoryError("insert_many failed")
                out = cmaps._Stats()
                if lib.cm_stats(h, ctypes.byref(out)) < 0:
                    raise MemoryError("stats failed")
            finally:
                lib.cm_free(h)
            longest[label].append(out.longest_insert_ns)
            shape[label] = (out.resizes, out.max_insert_moves)
    rows = [
        (
            label,
            f"{min(longest[label]) / 1e3:.1f}",
            f"{statistics.median(longest[label]) / 1e3:.1f}",
            f"{shape[label][1]:,}",
            shape[label][0],
        )
        for label, _, _ in GROWTH
    ]
    headers = (
        f"growing 0 to {n:,} keys",
        "longest insert µs (min)",
        "longest insert µs (median)",
        "most entries moved by one insert (exact)",
        "resizes",
    )
    found = [
        Measurement(f"{label}/longest_insert_ns", min(v), "ns", "noisy", tuple(v))
        for label, v in longest.items()
    ] + [
        Measurement(f"{label}/max_insert_moves", shape[label][1], "entries", "deterministic")
        for label in longest
    ]
    return format_markdown_table(headers, rows), found


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


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
    print(f"load average at start: {_load()} (timings are noisy when it exceeds the CPU count)")
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory() as tmp:
        libs = compile_builds(Path(tmp))
        sections: list[tuple[str, Callable[[], tuple[str, list[Measurement]]]]] = [
            ("Mean probe lengths vs Knuth (capacity 2**20)", lambda: knuth(2**20, args.seed)),
            ("Lookups", lambda: lookups(n, repeats, args.seed)),
            ("Presized inserts by build", lambda: inserts(n, repeats, args.seed, libs)),
            (
                "Longest single insert while growing (instrumented build)",
                lambda: growth(n, max(3, repeats // 2), args.seed, libs["instrumented"]),
            ),
        ]
        for title, section in sections:
            text, found = section()
            print(f"\n## {title}\n\n{text}\n\nload average: {_load()}")
            measurements += found
    print(f"\nfinished {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load average {_load()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": msgspec.to_builtins(measurements)}, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
