"""Which rows a report shows, and in what order: the latest commit of each Python, run order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd


def latest_per_python(frame: pd.DataFrame) -> pd.DataFrame:
    """Successful rows of the most recent commit of each Python (undated rows all count)."""
    ok = frame[(frame["status"] == "ok") & (frame["metric"] != "")]
    newest = ok.groupby("python")["commit_date"].transform("max")
    chosen: pd.DataFrame = ok[newest.isna() | (ok["commit_date"] == newest)]
    return chosen


def metric_mask(frame: pd.DataFrame, wanted: Callable[[str], bool]) -> pd.Series[bool]:
    """Rows whose metric `wanted` accepts (asked once per distinct metric, not per row)."""
    chosen = {m for m in frame["metric"].unique() if wanted(str(m))}
    return frame["metric"].isin(chosen)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def pythons(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["python"].unique(), key=version_key)


def first_seen(values: pd.Series[Any]) -> dict[Any, int]:
    """Rank of each value by first appearance: maps and workloads in the order they were run."""
    return {v: i for i, v in enumerate(dict.fromkeys(values.tolist()))}
