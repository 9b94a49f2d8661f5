"""The mmap map's numbers (issues 5 and 17), printed as Markdown tables for docs/mmap.md.

    python scripts/mmap_numbers.py [--quick] [--json numbers.json]

1. get/set through the mapping API (`m[k] = v`, `m[k]`), ns per operation, for `mmap` next to
   `dict` and the C maps (`c-*`, skipped if not built): 100,000 random int keys and 100,000 str
   keys; `mmap, reader` is a reader (`writer=False`) of the same map, gets only. Noisy:
   repetitions run interleaved (A B C ... A B C) and the table shows the minimum and the
   median, and the minimum as a multiple of dict's; every map gets the same keys in order.
2. Reopening a 1M-key file: a verifying reader (every checksum), a header-only reader
   (`verify=False`), and a writer (verifies, then copies the committed table to its working
   copy). Minimum of the repetitions; the file lives in the system temporary directory.

The first line says where and when, with the load average before and after (1-minute).
A script in scripts/, which asv does not scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import msgspec

from mapbench.environment import environment
from mapbench.measure.timing import Stopwatch, time_call
from mapbench.protocol import Map
from mapbench.registry import registry
from mapbench.schema import Measurement
from mapbench.text_tables import format_markdown_table

READER = "mmap, reader"  # not a registered map: a reader of an mmap map the script builds


def map_names() -> list[str]:
    """dict, mmap, an mmap reader and every available C map, in that order."""
    known = registry()
    names = ["dict", "mmap", READER, *(n for n in known if n.startswith("c-"))]
    return [n for n in names if n == READER or (n in known and known[n].available)]


def key_sets(n: int, seed: int) -> dict[str, list[Any]]:
    rng = random.Random(seed)
    ints = rng.sample(range(2**62), n)
    return {"random-int": ints, "str": [f"key-{k:x}" for k in ints]}


def set_get_seconds(name: str, keys: list[Any]) -> tuple[float, float]:
    """ns per `m[k] = k`-style insert into a fresh map, then per `m[k]` lookup.

    For READER, the inserts go to an mmap writer, and the lookups to a reader of its file.
    """
    m: Map = registry()["mmap" if name == READER else name].create()
    reader: Map | None = None
    try:
        values = list(range(len(keys)))

        def set_all() -> None:
            for k, v in zip(keys, values, strict=True):
                m[k] = v

        set_s = time_call(set_all, len(keys))
        target = m
        if name == READER:
            m.flush()
            reader = target = registry()["mmap"].create(path=m.path, writer=False)

        def get_all() -> None:
            for k in keys:
                target[k]

        get_s = time_call(get_all, len(keys))
    finally:
        if reader is not None:
            reader.close()
        m.close()
    return set_s * 1e9, get_s * 1e9


def mapping_api(n: int, repeats: int, seed: int) -> tuple[str, list[Measurement]]:
    names = map_names()
    samples: dict[tuple[str, str, str], list[float]] = {}
    for kind, keys in key_sets(n, seed).items():
        for _ in range(repeats):
            for name in names:  # interleaved: a burst of noise hits every map alike
                set_ns, get_ns = set_get_seconds(name, keys)
                samples.setdefault((name, kind, "set"), []).append(set_ns)
                samples.setdefault((name, kind, "get"), []).append(get_ns)
    rows, found = [], []
    for (name, kind, op), values in samples.items():
        if op == "get":
            set_values = samples[(name, kind, "set")]
            sets = "—", "—"
            if name != READER:
                sets = f"{min(set_values):.0f}", f"{statistics.median(set_values):.0f}"
            gets = min(values), statistics.median(values)
            ratio = min(values) / min(samples[("dict", kind, "get")])
            rows.append((name, kind, *sets, *(f"{g:.0f}" for g in gets), f"{ratio:.1f}"))
        found.append(
            Measurement(
                f"{name}/{op}/{kind}/{n}",
                min(values),
                "ns/op",
                "noisy",
                tuple(values),
                "minimum of interleaved repetitions",
            )
        )
    headers = ("map", "keys", "set min", "set median", "get min", "get median", "get min ÷ dict")
    return format_markdown_table(headers, rows), found


def reopen(n: int, repeats: int) -> tuple[str, list[Measurement]]:
    make = registry()["mmap"].factory
    assert make is not None
    handle, path = tempfile.mkstemp(prefix="mapbench-reopen-", suffix=".map")
    os.close(handle)
    try:
        # mkstemp made the file: an empty file is a map only with create=True
        with Stopwatch() as building, make(path=path, create=True) as m:
            m.reserve(n)
            for i in range(n):
                m[i * 0x9E3779B1] = i
        build_s = building.seconds
        size_mb = os.path.getsize(path) / 2**20
        ways: dict[str, Callable[[], Any]] = {
            "reader, verify=True": lambda: make(path=path, writer=False),
            "reader, verify=False": lambda: make(path=path, writer=False, verify=False),
            "writer, verify=True": lambda: make(path=path),
        }
        samples: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(repeats):
            for way, open_map in ways.items():
                with Stopwatch() as opening:
                    m = open_map()
                samples[way].append(opening.seconds * 1e3)
                assert len(m) == n
                m.close()
    finally:
        os.unlink(path)
    rows = [(way, f"{min(v):.1f}", f"{statistics.median(v):.1f}") for way, v in samples.items()]
    found = [
        Measurement(f"mmap/reopen/{way}/{n}", min(v), "ms", "noisy", tuple(v), "minimum")
        for way, v in samples.items()
    ]
    note = f"{n:,} int keys, {size_mb:.0f} MiB file, built in {build_s:.1f} s (reserve first)"
    return note + "\n\n" + format_markdown_table(("open", "min ms", "median ms"), rows), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n, repeats, big = (10_000, 2, 50_000) if args.quick else (100_000, 5, 1_000_000)
    env = environment()
    where = f"Python {env['python']} on {env.get('machine', '?')} ({env.get('cpu_count')} CPUs)"
    load_before = os.getloadavg()[0]
    table, api = mapping_api(n, repeats, args.seed)
    reopened, opened = reopen(big, 3)
    load = f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print(f"{where}, {time.strftime('%Y-%m-%d %H:%M')}, {load}\n")
    print(f"## get/set through the mapping API, ns per op ({n:,} keys)\n\n{table}\n")
    print(f"## Reopening a file\n\n{reopened}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "measurements": msgspec.to_builtins(api + opened)}, f)


if __name__ == "__main__":
    main()
