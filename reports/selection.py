"""Which rows a map x workload table shows, and in what order: the run's own order, not A-Z."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from mapbench.case import KEY_COLUMNS


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


def varying(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns with more than one value (the rest go in the table's note)."""
    return [c for c in columns if frame[c].nunique(dropna=False) > 1]


def params_needed(frame: pd.DataFrame) -> bool:
    """True when params tell rows apart that map, workload, size and key kind do not."""
    per_case = frame.groupby(["map", "workload", "size", "key_kind"], dropna=False)["params"]
    return bool((per_case.nunique() > 1).any())


def constant_note(frame: pd.DataFrame) -> str:
    """`Every row: size 1,000, random-int keys` for what is the same in every row."""
    parts = []
    if frame["size"].nunique(dropna=False) == 1 and not pd.isna(frame["size"].iloc[0]):
        parts.append(f"size {int(frame['size'].iloc[0]):,}")
    if frame["key_kind"].nunique() == 1 and frame["key_kind"].iloc[0]:
        parts.append(f"{frame['key_kind'].iloc[0]} keys")
    return f"Every row: {', '.join(parts)}" if parts else ""


def group_starts(lead: int, names: Sequence[str], per_python: int) -> tuple[str, ...]:
    """Column classes marking where each Python's group begins (a rule is drawn there)."""
    if len(names) < 2:
        return ()
    return ("",) * lead + (("start",) + ("",) * (per_python - 1)) * len(names)


def python_groups(lead: int, names: Sequence[str], per_python: int) -> tuple[tuple[str, int], ...]:
    """The header row above the columns: one group per Python, when there are several."""
    if len(names) < 2:
        return ()
    return (("", lead), *((f"Python {p}", per_python) for p in names))


def sentences(parts: Iterable[str]) -> str:
    """Non-empty parts as one note, each a sentence: capital first, full stop last."""
    return " ".join(p[0].upper() + p[1:] + ("" if p.endswith(".") else ".") for p in parts if p)


def anchor(prefix: str, text: str) -> str:
    """An id for links: `time-size-1-000-random-int-keys`."""
    return prefix + "-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


MAPPED = "memory_file_mapped_bytes_per_entry"


def memory_rows(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The rows of a memory-per-entry metric, with each case's file-backed mappings added to
    `memory_bytes_per_entry` (a persistent map holds its data in a mapped file)."""
    rows: pd.DataFrame = frame[frame["metric"] == metric]
    mapped = frame[frame["metric"] == MAPPED]
    if metric != "memory_bytes_per_entry" or rows.empty or mapped.empty:
        return rows
    key = ["file", *KEY_COLUMNS, "python"]
    extra = rows[key].merge(mapped[[*key, "value"]], on=key, how="left")["value"]
    added: pd.DataFrame = rows.assign(value=rows["value"] + extra.fillna(0.0).to_numpy())
    return added
