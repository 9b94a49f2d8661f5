"""The README's peers table from a `mapbench run --quick` results directory (`nox -s peers`).

    python scripts/peers_table.py results/peers [-o results/peers/peers.md]

One row per map: time per operation of insert and lookup-hit (10th percentile of the pyperf
values, as the report compares them), memory per entry after filling an empty map (and the
file's bytes per entry for persistent maps), and the Python blocks an insert allocates and
keeps (tracemalloc, exact), with the machine, load average and date of the run. A script
in scripts/, which asv does not scan; it imports only from `mapbench`.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mapbench.formatting import value
from mapbench.results import load
from mapbench.text_tables import format_markdown_table

COLUMNS = (
    ("insert", "time", "insert, time/op"),
    ("lookup-hit", "time", "lookup hit, time/op"),
    ("insert", "memory_bytes_per_entry", "memory/entry"),
    ("insert", "memory_file_bytes_per_entry", "file/entry"),
    ("insert", "alloc_live_blocks", "blocks kept/insert"),
)


def cell(frame: pd.DataFrame, workload: str, metric: str) -> str:
    rows = frame[(frame["workload"] == workload) & (frame["metric"] == metric)]
    rows = rows[rows["status"] == "ok"]
    if rows.empty:
        return "\u2013"  # an en dash: not measured
    row = rows.iloc[0]
    if metric == "time":
        return value(float(np.percentile(row["samples"], 10)), "s")
    if metric == "alloc_live_blocks":
        return f"{row['value'] / row['size']:.2f}"
    return value(float(row["value"]), str(row["unit"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("results", type=Path)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    frame = load([args.results]).frame
    rows = [
        (f"`{name}`", *(cell(group, w, m) for w, m, _ in COLUMNS))
        for name, group in frame.groupby("map", sort=False)
    ]
    env = json.loads(next(args.results.glob("metrics-*.json")).read_text())["environment"]
    sizes = sorted({int(s) for s in frame["size"].dropna() if not math.isnan(s)})
    kinds = ", ".join(sorted(set(frame["key_kind"]) - {""}))
    header = (
        f"Python {env['python']}, {env['cpu_model']} ({env['cpu_count']} cores), "
        f"load average {env['load_average']}, "
        f"{env['timestamp'][:10]}; {kinds} keys, {', '.join(map(str, sizes))} entries"
    )
    table = format_markdown_table(("map", *(title for _, _, title in COLUMNS)), rows)
    text = f"{header}\n\n{table}\n"
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
