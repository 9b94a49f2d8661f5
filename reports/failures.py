"""Cases without measurements: the failures (table and finding), and what was not run.

A failure is a case that crashed, raised or timed out. A case that was skipped (it does not
apply to the map), is unavailable, or that asv ran no value for (not selected by `--bench`, or
n/a) is not a failure: those are counted by reason, not listed one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from mapbench.reports.findings import Fragment, Line, Topic, records, topic
from mapbench.reports.tables import Cell, Table, case_text

from mapbench import formatting
from mapbench.case import KEY_COLUMNS

MAX_ROWS = 500
FAILED = ("failed", "timeout")
# One result of one case: a case measured by several benchmarks (asv's suite and ci) has several.
RESULT_KEY = ["source", "benchmark", *KEY_COLUMNS, "python", "commit"]
MAX_EXAMPLES = 3  # cases named per reason a case was not run


def failed_cases(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per failed (or timed out) case, at most MAX_ROWS."""
    failed = frame[frame["status"].isin(FAILED)].drop_duplicates([*RESULT_KEY, "status"])
    first: pd.DataFrame = failed.head(MAX_ROWS).reset_index(drop=True)
    return first


def failure_table(failed: pd.DataFrame, ids: Sequence[str]) -> Table | None:
    """Status, case, Python, commit and error of each failed case; None when none failed."""
    if failed.empty:
        return None
    rows = tuple(
        (
            Cell(str(r["status"]), css="bad"),
            Cell(case_text(r)),
            Cell(str(r["python"])),
            Cell(formatting.short_commit(str(r["commit"]))),
            Cell(str(r["error"]), css="wrap error"),
        )
        for r in records(failed)
    )
    return Table(
        ("status", "case", "python", "commit", "error"), rows, (False,) * 5, row_ids=tuple(ids)
    )


def failure_finding(failed: pd.DataFrame, ids: Sequence[str]) -> Topic | None:
    """One line per failure, the same failure on several Pythons once (linked to the first)."""
    if failed.empty:
        return None
    merged: dict[tuple[Any, ...], tuple[str, list[str]]] = {}
    for row, row_id in zip(records(failed), ids, strict=False):
        error = [x.strip() for x in str(row["error"]).splitlines() if x.strip()]
        case = case_text(row)
        key = (case, row["status"], error[-1] if error else "")
        merged.setdefault(key, (row_id, []))[1].append(str(row["python"]))
    lines: list[Line] = []
    for (case, status, last), (row_id, pythons) in merged.items():
        on = f" (Python {', '.join(p for p in pythons if p)})" if any(pythons) else ""
        lines.append((
            Fragment(case + on, "#" + row_id, "figure bad"),
            Fragment(f" {status}" + (f": {last}" if last else "")),
        ))  # fmt: skip
    return topic("Failures", lines)


def not_run_table(frame: pd.DataFrame) -> Table | None:
    """Cases without measurements that did not fail, one row per status and reason: how many,
    and a few of them by name; None when there are none."""
    rows = frame[(frame["status"] != "ok") & ~frame["status"].isin(FAILED)]
    if rows.empty:
        return None
    cases = rows.drop_duplicates(RESULT_KEY)
    out = []
    for (status, error), part in cases.groupby(["status", "error"], sort=False):
        named = [case_text(r) for r in records(part.head(MAX_EXAMPLES))]
        more = len(part) - len(named)
        examples = "; ".join(named) + (f" and {more:,} more" if more > 0 else "")
        out.append(
            (
                Cell(str(status)),
                Cell(f"{len(part):,}", f"{len(part)}"),
                Cell(examples, css="wrap"),
                Cell(str(error), css="wrap"),
            )
        )
    return Table(("status", "cases", "e.g.", "why"), tuple(out), (False, True, False, False))


def outcome_text(frame: pd.DataFrame) -> str:
    """`4 failed, 1,464 not run`: results by status, failures first (or `none failed`)."""
    counts = frame.drop_duplicates(RESULT_KEY)["status"].value_counts()
    failed = [f"{n:,} {status}" for status, n in counts.items() if status in FAILED]
    others = [f"{n:,} {status}" for status, n in counts.items() if status not in (*FAILED, "ok")]
    return ", ".join((failed or ["none failed"]) + others)
