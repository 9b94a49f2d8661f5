"""Cases that did not complete: the table of failures, and the finding that lists them first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from mapbench.reports.findings import Fragment, Line, Topic, records, topic
from mapbench.reports.tables import ROW_COLUMNS, Cell, Table, case_text

from mapbench import formatting

MAX_ROWS = 500


def failed_cases(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per failed (timed out, skipped) case, at most MAX_ROWS."""
    failed = frame[frame["status"] != "ok"].drop_duplicates(
        ["source", "benchmark", *ROW_COLUMNS, "python", "commit", "status"]
    )
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
