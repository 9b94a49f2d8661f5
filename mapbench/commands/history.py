"""`mapbench history STORE|RESULTS...`: change points of every case and metric across commits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mapbench.thresholds import Thresholds

if TYPE_CHECKING:
    import pandas as pd


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("sources", nargs="*", metavar="STORE|RESULTS", help="results stores, directories or files")
    add(
        "--store",
        type=Path,
        metavar="FILE",
        help="ingest the RESULTS into this store first (created if missing; files already held "
        "are skipped), then read the whole store",
    )
    add("--repo", type=Path, help="a git clone: commit order, parents and subjects from it")
    add("--metric", action="append", default=[], help="only these metrics (repeatable)")
    add(
        "--map",
        dest="maps",
        action="append",
        default=[],
        help="only these maps (repeatable; default: those of pyproject.toml's [tool.mapbench])",
    )
    add(
        "--across-machines",
        action="store_true",
        help="pool time across machines (default: one series per machine; exact metrics are "
        "always pooled)",
    )
    defaults = Thresholds()
    add(
        "--min-effect",
        type=float,
        default=defaults.min_effect,
        help="relative change of a noisy metric too small to report (default %(default)s)",
    )
    add(
        "--exact-tolerance",
        type=float,
        default=defaults.deterministic_tolerance,
        help="relative change of an exact metric still no change (default %(default)s)",
    )
    add("--json", action="store_true", help="print the change points as JSON records")


def cmd_history(args: argparse.Namespace) -> int:
    from mapbench.errors import UsageError
    from mapbench.history import change_points, ingest, open_points
    from mapbench.project import configured_maps
    from mapbench.results import problems_as_text

    if not args.sources and args.store is None:
        raise UsageError("give a results store or results directories (or --store FILE)")
    sources = list(args.sources)
    if args.store is not None:
        done = ingest(args.store, sources, args.repo)
        for line in problems_as_text(done.problems):
            print(f"mapbench: {line}", file=sys.stderr)
        print(
            f"mapbench history: {args.store}: {done.new_files} new files ({done.rows:,} rows), "
            f"{done.skipped_files} already held, {done.replaced_runs} runs replaced",
            file=sys.stderr,
        )
        sources = [str(args.store)]
    points = open_points(sources, args.repo)
    for line in problems_as_text(points.problems):
        print(f"mapbench: {line}", file=sys.stderr)
    frame = points.frame
    if not frame.empty:
        if args.metric:
            frame = frame[frame["metric"].isin(args.metric)]
        maps = configured_maps(args.maps)
        if maps:
            frame = frame[frame["map"].isin(maps)]
    thresholds = Thresholds(
        min_effect=args.min_effect, deterministic_tolerance=args.exact_tolerance
    )
    found = change_points(
        frame, points.commits, thresholds=thresholds, across_machines=args.across_machines
    )
    subjects = _subjects(points.commits)
    if args.json:
        records = found.assign(subject=[subjects.get(c, "") for c in found["commit"]])
        print(records.to_json(orient="records", indent=2))
    else:
        print(_table(found, subjects))
    return 0


def _subjects(commits: pd.DataFrame | None) -> dict[str, str]:
    if commits is None or commits.empty:
        return {}
    return {c: s for c, s in zip(commits["commit"], commits["subject"], strict=True) if s}


def _table(found: pd.DataFrame, subjects: dict[str, str]) -> str:
    import pandas as pd

    from mapbench import formatting
    from mapbench.text_tables import format_table

    if found.empty:
        return "no change points"
    rows = []
    for r in found.to_dict("records"):
        n = r["commits_between"]
        between = "" if pd.isna(n) else f" ({n} commit{'s' if n != 1 else ''})"
        exact = r["method"] == "exact"
        rows.append(
            (
                r["map"],
                r["workload"],
                r["key_kind"],
                r["size"],
                r["metric"],
                r["python"],
                r["machine"] or "any",
                f"{r['commit_before'][:10]}..{r['commit'][:10]}{between}",
                subjects.get(r["commit"], "")[:40],
                formatting.change(r["magnitude"])
                + ("" if exact else f" {formatting.interval(r['low'], r['high'])}"),
                f"{formatting.value(r['before'], r['unit'])} -> "
                f"{formatting.value(r['after'], r['unit'])}",
                r["method"] + (f"; {r['note']}" if r["note"] else ""),
            )
        )
    headers = (
        "map", "workload", "keys", "size", "metric", "python", "machine", "commits", "subject",
        "change", "before -> after", "how",
    )  # fmt: skip
    return f"{len(found)} change points\n" + format_table(headers, rows)
