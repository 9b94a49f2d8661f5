"""GC pauses against map size: a dict of records next to C and mmap maps holding the same data.

    python scripts/gc_pause_size.py [--sizes 1000,10000,100000,1000000] [--json out.json]
                                    [--svg docs/gc-pause-size.svg]

Each case is `mapbench measure MAP --workload write-heavy --value-kind KIND --size N --collector
gc --repeat 0 --json`: one worker process per case (a fresh heap each), the `gc` collector's one
run with the GC on. The cases: `dict` holding `record` values (one GC-tracked object each),
`c-swiss` and `mmap` holding the same records serialised to JSON bytes (off the heap), and `dict`
holding `int` values (nothing for the collector to follow) as the floor. Prints a Markdown table
(collections per generation, the longest full collection in wall and CPU time, the longest pause
of any generation, the objects the GC tracked after the run, time per write with the GC on)
with the machine's load average before and after and the date, and draws the CPU time of the
longest pause against size (log-log) as a standalone SVG: on a shared machine a wall-clock pause
also holds the time the process waited for a core. Every figure is per run of max(N, 50,000)
writes. A script in scripts/, which asv does not scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from mapbench.reports import charts
from mapbench.reports.render import render_svg

from mapbench import formatting
from mapbench.schema import decode
from mapbench.text_tables import format_markdown_table

CASES = (("dict", "record"), ("c-swiss", "record"), ("mmap", "record"), ("dict", "int"))
SIZES = (1_000, 10_000, 100_000, 1_000_000)
WORKLOAD = "write-heavy"


def measure(spec: str, value_kind: str, size: int, timeout: float) -> dict[str, Any]:
    """The gc collector's figures of one case, measured in its own worker process."""
    cmd = [
        sys.executable, "-m", "mapbench", "measure", spec, "--workload", WORKLOAD,
        "--value-kind", value_kind, "--size", str(size), "--collector", "gc", "--repeat", "0",
        "--timeout", str(timeout), "--json",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, check=False, timeout=timeout + 60)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-2000:]}")
    [result] = decode(done.stdout).results
    figures: dict[str, Any] = {m.name: m.value for m in result.metrics}
    figures["form"] = result.params.get("value_form", "object")
    figures["note"] = result.metrics[0].note if result.metrics else ""
    return figures


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def table(rows: list[tuple[str, str, int, dict[str, Any]]]) -> str:
    out = []
    for spec, kind, size, f in rows:
        stored = kind if f["form"] == "object" else f"{kind} as {f['form']}"
        full = f["gc_collections_gen2"] and (
            f"{formatting.value(f['gc_pause_max_gen2'], 's')} "
            f"({formatting.value(f['gc_pause_cpu_max_gen2'], 's')} CPU)"
        )
        out.append(
            (
                spec, stored, f"{size:,}",
                " / ".join(f"{f[f'gc_collections_gen{g}']:,.0f}" for g in (0, 1, 2)),
                full or "none",
                formatting.value(f.get("gc_pause_max", 0.0), "s")
                + f" ({formatting.value(f['gc_pause_cpu_max'], 's')} CPU)",
                formatting.value(f["gc_pause_total"], "s"),
                f"{f['gc_tracked_objects']:,.0f}",
                formatting.value(f["time_gc_on"], "s"),
            )
        )  # fmt: skip
    headers = (
        "map", "values", "entries", "collections gen 0 / 1 / 2", "longest gen-2 pause (CPU)",
        "longest pause (CPU)", "total pause", "tracked objects after", "time/write, GC on",
    )  # fmt: skip
    return format_markdown_table(headers, out)


def chart(rows: list[tuple[str, str, int, dict[str, Any]]]) -> charts.Chart:
    lines: dict[str, list[tuple[float, float]]] = {}
    for spec, kind, size, f in rows:
        label = f"{spec}, {kind}" + ("" if f["form"] == "object" else f" ({f['form']})")
        if f["gc_pause_cpu_max"] > 0:
            lines.setdefault(label, []).append((float(size), float(f["gc_pause_cpu_max"])))
    return charts.loglog_chart(
        title=f"{WORKLOAD}: longest GC pause (CPU time) against map size",
        subtitle=f"one run of max(N, 50,000) writes, GC on · Python {platform.python_version()}",
        lines=list(lines.items()),
        x_label="entries",
        unit="s",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--timeout", type=float, default=900.0, help="per case, seconds")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--svg", type=Path, help="draw the chart here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    before = load()
    rows = []
    for size in sizes:
        for spec, kind in CASES:
            print(f"measuring {spec} {kind} {size:,} ...", file=sys.stderr, flush=True)
            rows.append((spec, kind, size, measure(spec, kind, size, args.timeout)))
    after = load()
    print(table(rows))
    print(
        f"\nLoad average (1/5/15 min) before {before}, after {after} on "
        f"{os.cpu_count()} cores; {_dt.date.today()}; Python {platform.python_version()}; "
        f"{rows[0][3]['note']} (the first case's GC settings)."
    )
    if args.json:
        args.json.write_text(json.dumps([list(r) for r in rows], indent=1), encoding="utf-8")
    if args.svg:
        render_svg(chart(rows), args.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
