"""Time `mapbench report` on >= 100,000 result rows (target: under 10 s on 2 cores).

The rows are synthetic (random numbers shaped like an asv history: 40 commits x 2,560 cases,
20 samples each) because only the renderer's speed is measured here; nothing in them is
presented as a measurement of any map. Run: python scripts/report_scale.py [rows]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from mapbench.reports import render_html

from mapbench._result_rows import Row
from mapbench.compare import compare
from mapbench.measure.timing import Stopwatch
from mapbench.results import ResultSet, _frame, where

MAPS = ("dict", "sharded", "cow", "gobucket", "linear", "robinhood", "cuckoo", "mmap")
WORKLOADS = (
    "insert",
    "lookup-hit",
    "lookup-miss",
    "delete",
    "mixed-90-10",
    "iterate",
    "churn",
    "copy",
)
SIZES = (1000, 10000, 100000, 1000000)
KEYS = ("seq-int", "random-int", "short-str", "long-str", "bytes")


def synthetic(rows_wanted: int, seed: int = 0) -> ResultSet:
    """A deep history of many cases, with seeded random sample values."""
    rng = np.random.default_rng(seed)
    cases = [(m, w, s, k) for m in MAPS for w in WORKLOADS for s in SIZES for k in KEYS]
    commits = -(-rows_wanted // len(cases))
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rows = []
    for c in range(commits):
        commit = f"{c:040x}"
        date = start + pd.Timedelta(days=c)
        for m, w, s, k in cases:
            samples = tuple(1e-7 * (1 + rng.gamma(2.0, 0.05, 20)))
            rows.append(
                Row(
                    source="asv",
                    file=f"results/vm/{commit[:8]}.json",
                    machine="vm",
                    commit=commit,
                    commit_date=date,
                    python="3.12",
                    env="py3.12",
                    benchmark="suite.Ops.time_op",
                    map=m,
                    workload=w,
                    size=s,
                    key_kind=k,
                    params="",
                    metric="time",
                    unit="seconds",
                    kind="noisy",
                    value=float(np.median(samples)),
                    samples=samples,
                )
            )
    return ResultSet(_frame(rows))


def main() -> None:
    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    results = synthetic(wanted)
    commits = sorted(results.frame["commit"].unique())
    with tempfile.TemporaryDirectory() as tmp:
        with Stopwatch() as comparing:
            comparison = compare(
                where(results, {"commit": commits[-2]}), where(results, {"commit": commits[-1]})
            )
        with Stopwatch() as rendering:
            out = render_html(results, Path(tmp) / "report.html", comparison)
        size = out.stat().st_size
    total = comparing.seconds + rendering.seconds
    print(
        f"{len(results.frame):,} rows ({len(comparison.rows):,} compared): "
        f"compare {comparing.seconds:.2f} s, render {rendering.seconds:.2f} s, total {total:.2f} s "
        f"(target < 10 s); report {size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
