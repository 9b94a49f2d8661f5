"""Memory per entry: the table, the per-map charts and which map needs least.

A fresh map is filled with the case's keys (keys and values allocated beforehand); a persistent
map's file-backed mappings count towards `memory_bytes_per_entry` (its data lives there).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from mapbench.reports import charts
from mapbench.reports.findings import (
    MAX_LINES,
    Fragment,
    Line,
    Topic,
    href,
    metric_columns,
    records,
    topic,
)
from mapbench.reports.rows import first_seen, latest_per_python
from mapbench.reports.tables import (
    Column,
    Section,
    TopicTable,
    anchor,
    map_label,
    metric_title,
    where,
)
from mapbench.reports.timing import REFERENCE

from mapbench import formatting
from mapbench.case import KEY_COLUMNS, size_key

MAX_CHARTS = 12
MAPPED = "memory_file_mapped_bytes_per_entry"
# What a chart or finding shows: the first of these the results hold.
PER_ENTRY = ("memory_bytes_per_entry", "memory_traced_bytes_per_entry")

TABLE = TopicTable(
    "memory",
    "Memory per entry",
    "A fresh map filled with the case's keys (keys and values allocated beforehand). "
    "Traced: Python's allocator (tracemalloc); native: malloc family and anonymous mmap "
    "(memray); per entry: the two added; mapped: file-backed mappings; file: a persistent "
    "map's file.",
    (
        Column("per entry", "memory_bytes_per_entry"),
        Column("traced", "memory_traced_bytes_per_entry"),
        Column("traced peak", "memory_traced_peak_bytes_per_entry"),
        Column("native", "memory_native_bytes_per_entry"),
        Column("mapped", "memory_file_mapped_bytes_per_entry"),
        Column("file", "memory_file_bytes_per_entry"),
    ),
)


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


def _shown(frame: pd.DataFrame) -> tuple[str, pd.DataFrame] | None:
    """The first metric of PER_ENTRY the results hold, and its rows (latest commit per Python)."""
    for metric in PER_ENTRY:
        rows = latest_per_python(memory_rows(frame, metric))
        if not rows.empty:
            return metric, rows
    return None


def memory_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """Per size, key kind and Python: each map's memory per entry (median over workloads)."""
    if (shown := _shown(frame)) is None:
        return
    metric, rows = shown
    keys = ["size", "key_kind", "python"]
    several = rows["python"].nunique() > 1
    order = first_seen(rows["map"])
    for n, ((size, key_kind, python), part) in enumerate(
        rows.groupby(keys, dropna=False, sort=False)
    ):
        if n >= MAX_CHARTS:
            return
        medians = part.groupby(["map", "params"], sort=False)["value"].median().reset_index()
        bars = [
            (map_label(str(m), str(p)), float(v))
            for m, p, v in sorted(
                zip(medians["map"], medians["params"], medians["value"], strict=True),
                key=lambda b: order.get(b[0], 0),
            )
        ]
        if len(bars) < 2 or not any(v > 0 for _, v in bars):
            continue
        mapped = MAPPED in set(frame["metric"])
        note = " · file mappings included" if mapped and metric == PER_ENTRY[0] else ""
        yield charts.bar_chart(
            title=metric_title(metric),
            subtitle=where(size, str(key_kind), str(python), several)
            + " · median over workloads"
            + note,
            rows=bars,
            unit="B",
            anchor=anchor("memory-chart", f"{size} {key_kind} {python}"),
        )


def least_memory_finding(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    """Per size, key kind and Python: the map with the least memory per entry, and the most."""
    if (shown := _shown(frame)) is None:
        return None
    metric, rows = shown
    per_map = metric_columns(rows)
    groups = list(per_map.groupby(["size", "key_kind", "python"], dropna=False, sort=False))
    several = len(groups) > 1
    lines: list[Line] = []
    for (size, key_kind, python), part in groups[:MAX_LINES]:
        # a map's memory is that of a fresh map filled with the keys: its median over workloads
        medians = part.groupby(["map", "params"], sort=False)[metric].median().reset_index()
        entries = sorted(
            (float(v), str(m), str(p))
            for m, p, v in zip(medians["map"], medians["params"], medians[metric], strict=True)
        )
        seen = entries
        if len(seen) < 2:
            continue
        (least, m, params), (most, m2, _) = seen[0], seen[-1]
        example = records(part[(part["map"] == m) & (part["params"] == params)])[0]
        place = " · ".join(
            p
            for p in (
                f"{size_key(size):,}" if size_key(size) >= 0 else "",
                str(key_kind),
                f"Python {python}" if several else "",
            )
            if p
        )
        parts = [
            Fragment(f"{place}: " if several else ""),
            Fragment(m, href(section, example), "figure"),
            Fragment(f" {formatting.value(least, 'B')} per entry"),
        ]
        reference = [v for v, name, _ in seen if name == REFERENCE]
        if reference and m != REFERENCE:
            parts.append(Fragment(f" ({REFERENCE} {formatting.value(reference[0], 'B')})"))
        parts.append(Fragment(f"; most: {m2} {formatting.value(most, 'B')}"))
        lines.append(tuple(parts))
    mapped = " with file mappings" if MAPPED in set(frame["metric"]) else ""
    return topic(f"Least memory ({metric_title(metric)}{mapped})", lines)
