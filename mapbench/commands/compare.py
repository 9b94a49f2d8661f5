"""`mapbench compare BASE CANDIDATE`: verdicts for CI; exits 1 when something regressed, 4 when
nothing did but a row was too noisy to judge (0 with --allow-noisy).

Each side is a results directory or file, or a selector (`python=3.12`, `commit=abc`,
`map=dict`, combined with commas) applied to the results given with `--results`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mapbench.commands._analysis import (
    add_threshold_options,
    exit_status,
    load_and_warn,
    resolve_side,
    thresholds_from,
)
from mapbench.commands._paths import output_file
from mapbench.formatting import change, interval, probability, value
from mapbench.text_tables import format_table

if TYPE_CHECKING:  # the statistics and reports load when the command runs, not with the CLI
    from mapbench.compare import Comparison
    from mapbench.results import ResultSet


EXIT_STATUSES = """exit status:
  0  no regression
  1  a regression (and nothing else)
  2  bad input, in one line: a path, selector, option or output file that cannot be
     used, or no results to compare
  3  a bug in mapbench (with its traceback)
  4  nothing regressed, but a row was too noisy to judge (0 with --allow-noisy)"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = f"{parser.epilog}\n\n{EXIT_STATUSES}" if parser.epilog else EXIT_STATUSES
    parser.add_argument(
        "base", metavar="BASE", help="results dir/file, or a selector like python=3.12"
    )
    parser.add_argument("candidate", metavar="CANDIDATE", help="results dir/file, or a selector")
    parser.add_argument(
        "--results",
        nargs="+",
        default=[],
        metavar="DIR",
        help="results that selector sides are taken from",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="SELECTOR",
        help="narrow both sides, e.g. --where map=dict (repeatable)",
    )
    parser.add_argument("--html", metavar="FILE", help="also write the full HTML report")
    parser.add_argument("--markdown", metavar="FILE", help="also write a Markdown summary")
    parser.add_argument("--all", action="store_true", help="list unchanged rows too")
    parser.add_argument("--json", action="store_true", help="machine-readable verdict rows")
    add_threshold_options(parser)


def cmd_compare(args: argparse.Namespace) -> int:
    from mapbench.compare import compare
    from mapbench.reports import render_html, render_markdown

    for option, path in (("--html", args.html), ("--markdown", args.markdown)):
        if path:
            output_file(path, option)
    pool = load_and_warn(args.results) if args.results else None
    base = resolve_side(args.base, pool, args.where, "BASE")
    candidate = resolve_side(args.candidate, pool, args.where, "CANDIDATE")
    result = compare(base, candidate, thresholds_from(args), args.base, args.candidate)
    if args.html:
        render_html(_union(base, candidate, pool), args.html, result, title="mapbench comparison")
    if args.markdown:
        render_markdown(result, args.markdown)
    if args.json:
        print(result.rows.to_json(orient="records", indent=1))
    else:
        print(_text(result, args.all))
    return exit_status(result.exit_status, args)


def _union(base: ResultSet, candidate: ResultSet, pool: ResultSet | None) -> ResultSet:
    """What the HTML report shows besides the verdicts: everything given."""
    from mapbench.results import combine

    return pool if pool is not None else combine([base, candidate])


def _text(result: Comparison, show_all: bool) -> str:
    """A table of the rows that matter (every row with --all), then the counts."""
    from mapbench.compare import VERDICTS, Verdict
    from mapbench.reports.verdicts import case_with_context

    rows = result.rows
    if not show_all:
        rows = rows[rows["verdict"] != Verdict.NO_CHANGE]
    rank = rows["verdict"].map({v: i for i, v in enumerate(VERDICTS)})
    rows = rows.assign(_rank=rank).sort_values(["_rank", "ratio"], ascending=[True, False])
    table = [
        (
            r["verdict"],
            case_with_context(r, result.rows),
            r["metric"],
            value(r["base"], r["unit"]),
            value(r["candidate"], r["unit"]),
            change(r["ratio"]),
            interval(r["ci_low"], r["ci_high"]),
            probability(r["q_value"]),
            r["note"],
        )
        for r in rows.to_dict("records")
    ]
    headers = ("verdict", "case", "metric", result.base_label, result.candidate_label, "change",
               "interval", "q", "note")  # fmt: skip
    counts = ", ".join(f"{result.count(v)} {v}" for v in VERDICTS)
    lines = [format_table(headers, table)] if table else []
    lines.append(f"{len(result.rows)} compared: {counts}")
    lines.append(f"intervals at {result.interval_level:.2%} (false-discovery control)")
    return "\n".join(lines)
