"""Does a metric repeat exactly? Every case measured in fresh processes, rounds interleaved.

    python scripts/repeatability.py [--collector blocks] [--runs 3] [--workload insert ...]
        [--size 10000] [--key-kind random-int] [--map dict ...] [--python PATH]

A metric may be called exact (deterministic) only if it repeats exactly in every case: this runs
`mapbench measure` once per case and round (round 1 over every case, then round 2, ...), each a
process of its own with the pinned hash seed, and prints per metric in how many cases every
round gave the same value, and the largest spread. Maps that are unavailable, and cases that do
not apply to a map, are left out. A script in scripts/, which asv does not scan.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence

from mapbench.environment import environment
from mapbench.text_tables import format_markdown_table

WORKLOADS = ("insert", "lookup-hit", "lookup-miss", "delete", "mixed-50-50", "churn")
Case = tuple[str, str]  # (map, workload)


def _available_maps(python: str) -> list[str]:
    listed = subprocess.run(
        [python, "-m", "mapbench", "list", "--json"], capture_output=True, text=True, check=True
    )
    return [row["name"] for row in json.loads(listed.stdout) if row["available"]]


def _measure(python: str, case: Case, args: argparse.Namespace) -> dict[str, float] | None:
    """The metrics of one run of one case in a fresh process; None when it did not apply."""
    collectors = [f"--collector={c}" for c in args.collector]
    done = subprocess.run(
        [python, "-m", "mapbench", "measure", case[0], "--workload", case[1],
         "--size", str(args.size), "--key-kind", args.key_kind, "--repeat", "0", "--json",
         *collectors],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    [result] = json.loads(done.stdout)["results"]
    if result["status"] != "ok":
        return None
    return {m["name"]: float(m["value"]) for m in result["metrics"]}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--collector", action="append", default=[], help="default: blocks")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workload", action="append", default=[])
    parser.add_argument("--map", action="append", default=[])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--key-kind", default="random-int")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    args.collector = args.collector or ["blocks"]
    maps = args.map or _available_maps(args.python)
    cases = [(m, w) for m in maps for w in args.workload or WORKLOADS]
    before = environment()["load_average"]
    runs: dict[Case, list[dict[str, float]]] = {c: [] for c in cases}
    for _ in range(args.runs):  # interleaved: a case's runs are minutes apart, not back to back
        for case in cases:
            if (values := _measure(args.python, case, args)) is not None:
                runs[case].append(values)
    by_metric: dict[str, list[tuple[Case, list[float]]]] = {}
    for case, measured in runs.items():
        if len(measured) != args.runs:
            continue
        for metric in measured[0]:
            by_metric.setdefault(metric, []).append((case, [r[metric] for r in measured]))
    rows = []
    for metric, found in sorted(by_metric.items()):
        moved = [(case, values) for case, values in found if len(set(values)) > 1]
        worst = max(moved, key=lambda cv: max(cv[1]) - min(cv[1]), default=None)
        rows.append((
            metric,
            f"{len(found) - len(moved)} of {len(found)}",
            "-" if worst is None else
            f"{max(worst[1]) - min(worst[1]):g} ({' · '.join(worst[0])}: "
            f"{', '.join(f'{v:g}' for v in worst[1])})",
        ))  # fmt: skip
    env = environment()
    print(
        f"Python {env['python']} on {env['machine']}, {args.runs} runs per case, size "
        f"{args.size:,}, {args.key_kind} keys, PYTHONHASHSEED 0; load {before} "
        f"before, {env['load_average']} after; {env['timestamp']}"
    )
    headers = ("metric", "cases where every run gave the same value", "largest spread")
    print(format_markdown_table(headers, rows))


if __name__ == "__main__":
    main()
