"""Time ingesting a long history into the results store and finding its change points.

    python scripts/history_scale.py [--commits 1000] [--html]

The results are **synthetic** (written with mapbench's own schema, numbers drawn from a seeded
generator: 60 cases x 4 Pythons per commit, each case a `time` with 10 samples and an exact
`probe_hit_mean`; `sharded` gets 40% slower halfway, `c-linear`'s probe lengths change at three
quarters), because only the speed of the store and of the detection is measured here: nothing in
them is presented as a measurement of any map. Target: ingest + `mapbench history` <= 10 s.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mapbench.history import change_points, ingest, open_points
from mapbench.measure.catalog import measurement
from mapbench.measure.timing import Stopwatch
from mapbench.schema import CaseResult, MetricsFile, encode

MAPS = ("dict", "sharded", "cow", "c-linear", "c-swiss", "mmap")
WORKLOADS = ("insert", "lookup-hit", "lookup-miss", "delete", "mixed-90-10")
KEY_KINDS = ("random-int", "short-str")
PYTHONS = ("3.10.13", "3.11.7", "3.12.1", "3.13.0")
SAMPLES = 10


def write_history(root: Path, commits: int, seed: int = 0) -> int:
    """One directory per commit with a metrics file per Python; the number of cases written."""
    rng = np.random.default_rng(seed)
    cases = [(m, w, k) for m in MAPS for w in WORKLOADS for k in KEY_KINDS]
    base = {case: 1e-7 * (1 + i % 7) for i, case in enumerate(cases)}
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for c in range(commits):
        commit = f"{c + 1:040x}"
        for python in PYTHONS:
            noise = 1 + rng.gamma(2.0, 0.02, (len(cases), SAMPLES))
            results = []
            for (m, w, k), row in zip(cases, noise, strict=True):
                slower = 1.4 if m == "sharded" and c >= commits // 2 else 1.0
                samples = tuple(float(x) for x in base[m, w, k] * slower * row)
                probe = 1.8 if m == "c-linear" and c >= 3 * commits // 4 else 1.5
                metrics = (
                    measurement("time", min(samples), samples=samples),
                    measurement("probe_hit_mean", probe),
                )
                results.append(CaseResult(m, w, 10_000, k, metrics=metrics))
            environment = {
                "python": python,
                "machine": "synthetic-vm",
                "commit": commit,
                "commit_date": (start + pd.Timedelta(hours=c)).isoformat(),
                "timestamp": (start + pd.Timedelta(hours=c, minutes=30)).isoformat(),
            }
            directory = root / f"{c:05d}"
            directory.mkdir(parents=True, exist_ok=True)
            document = MetricsFile(environment=environment, results=tuple(results))
            (directory / f"metrics-{python[:4]}.json").write_bytes(encode(document))
    return len(cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--html", action="store_true", help="also time `mapbench report STORE`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mapbench-history-scale-") as tmp:
        root = Path(tmp)
        cases = write_history(root / "results", args.commits)
        load_before = os.getloadavg()[0]
        store = root / "history.duckdb"
        cpu = time.process_time()
        with Stopwatch() as ingesting:
            done = ingest(store, [str(root / "results")], None)
        ingest_cpu = time.process_time() - cpu
        with Stopwatch() as again:
            repeat = ingest(store, [str(root / "results")], None)
        cpu = time.process_time()
        with Stopwatch() as detecting:
            points = open_points([str(store)])
            found = change_points(points.frame, points.commits)
            text = found.to_string()
        detect_cpu = time.process_time() - cpu
        print(
            f"{_dt.date.today()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
            f"average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after; synthetic: "
            f"{args.commits} commits x {cases} cases x {len(PYTHONS)} Pythons, {done.rows:,} rows"
        )
        print(
            f"ingest: {ingesting.seconds:.2f} s wall, {ingest_cpu:.2f} s CPU ({done.new_files} "
            f"files; store {store.stat().st_size / 1e6:.0f} MB)"
        )
        print(f"ingest again (nothing new): {again.seconds:.2f} s, {repeat.new_files} new files")
        print(
            f"history (read the store, detect, format): {detecting.seconds:.2f} s wall, "
            f"{detect_cpu:.2f} s CPU, "
            f"{len(found)} change points, {len(text):,} characters"
        )
        print(
            f"total ingest + history: {ingesting.seconds + detecting.seconds:.2f} s wall, "
            f"{ingest_cpu + detect_cpu:.2f} s CPU"
        )
        print(
            found[["map", "metric", "python", "commit", "magnitude", "low", "high"]]
            .groupby(["map", "metric"])
            .size()
            .to_string()
        )
        if args.html:
            from mapbench.cli import main as mapbench

            with Stopwatch() as rendering:  # all it does: load, compare, change points, render
                mapbench(["report", str(store), "-o", str(root / "report.html")])
            size = (root / "report.html").stat().st_size / 1e6
            print(f"mapbench report STORE: {rendering.seconds:.2f} s wall ({size:.1f} MB)")
            print(
                f"total ingest + report: {ingesting.seconds + rendering.seconds:.2f} s wall; "
                f"ingest + history + report: "
                f"{ingesting.seconds + detecting.seconds + rendering.seconds:.2f} s wall"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
