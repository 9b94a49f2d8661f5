"""`mapbench report RESULTS... -o report.html`: the HTML report of everything given.

With `--base` and `--candidate` selectors the report opens with their comparison; without
them it compares the two most recent commits, when the results hold more than one.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mapbench.commands._analysis import (
    add_threshold_options,
    load_and_warn,
    resolve_side,
    thresholds_from,
)
from mapbench.commands._paths import output_file
from mapbench.errors import MapbenchError, UsageError

# Change points need a before and an after of more than one commit each to mean anything.
MIN_HISTORY = 3

if TYPE_CHECKING:  # pandas and the reports load when the command runs, not with the CLI
    import pandas as pd

    from mapbench.compare import Comparison
    from mapbench.results import ResultSet
    from mapbench.thresholds import Thresholds


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", nargs="+", metavar="RESULTS", help="results directories or files"
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the HTML file to write"
    )
    parser.add_argument("--base", metavar="SELECTOR", help="compare this side (e.g. commit=abc)...")
    parser.add_argument("--candidate", metavar="SELECTOR", help="...against this one")
    parser.add_argument("--markdown", metavar="FILE", help="also write the Markdown summary")
    parser.add_argument("--title", default="mapbench report", help="the report's title")
    add_threshold_options(parser)


def cmd_report(args: argparse.Namespace) -> int:
    from mapbench.reports import render_html, render_markdown

    output_file(args.output, "-o")
    if args.markdown:
        output_file(args.markdown, "--markdown")
    results = load_and_warn(args.results)
    comparison = _comparison(results, args)
    if args.markdown:
        if comparison is None:
            raise UsageError("--markdown needs a comparison: give --base and --candidate")
        render_markdown(comparison, args.markdown)
    thresholds = thresholds_from(args)
    path = render_html(
        results,
        args.output,
        comparison,
        title=args.title,
        statistic=thresholds.statistic,
        change_points=_change_points(results, thresholds),
    )
    print(f"wrote {path} ({len(results.frame):,} result rows)")
    print(f"next: open {path} in a browser (it works offline); compare two runs with "
          "`mapbench compare BASE CANDIDATE`")  # fmt: skip
    return 0


def _comparison(results: ResultSet, args: argparse.Namespace) -> Comparison | None:
    from mapbench.compare import compare
    from mapbench.results import where

    thresholds = thresholds_from(args)
    if args.base or args.candidate:
        if not (args.base and args.candidate):
            raise UsageError("give both --base and --candidate, or neither")
        base = resolve_side(args.base, results, [], "--base")
        candidate = resolve_side(args.candidate, results, [], "--candidate")
        return compare(base, candidate, thresholds, args.base, args.candidate)
    commits = _latest_commits(results.frame)
    if commits is None:
        return None
    previous, latest = commits
    try:
        return compare(
            where(results, {"commit": previous}),
            where(results, {"commit": latest}),
            thresholds,
            f"commit {previous[:8]}",
            f"commit {latest[:8]}",
        )
    except MapbenchError as exc:
        print(f"mapbench report: no comparison of the last two commits: {exc}", file=sys.stderr)
        return None


def _change_points(results: ResultSet, thresholds: Thresholds) -> pd.DataFrame | None:
    """Where the metrics changed along the commits, for results of three commits or more."""
    from mapbench.history import change_points

    commits = results.frame["commit"]
    if commits[commits != ""].nunique() < MIN_HISTORY:
        return None
    return change_points(results.frame, thresholds=thresholds)


def _latest_commits(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The two most recent commits by commit date, oldest first, if there are two."""
    dated = frame[(frame["commit"] != "") & frame["commit_date"].notna()]
    order = dated.groupby("commit")["commit_date"].max().sort_values()
    if len(order) < 2:
        return None
    return str(order.index[-2]), str(order.index[-1])
