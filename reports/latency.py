"""Latency per operation: the percentiles table, spikes by cause, percentile charts, worst tails.

Each operation is timed on its own, in a pass of its own with the GC on (the `latency`
collector); spikes are operations slower than 10x the median, with what happened during them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from mapbench.reports import charts
from mapbench.reports.findings import (
    Fragment,
    Line,
    Topic,
    case_line,
    href,
    metric_columns,
    records,
    topic,
)
from mapbench.reports.rows import first_seen, latest_per_python, metric_mask
from mapbench.reports.tables import Column, Section, TopicTable, anchor, map_label, where

from mapbench import formatting

MAX_CHARTS = 12
PERCENTILES = (("p50", "latency_p50"), ("p99", "latency_p99"), ("p99.9", "latency_p999"),
               ("max", "latency_max"))  # fmt: skip
SPIKE_CAUSE = "latency_spikes_"  # latency_spikes_<cause>: spikes by recorded cause

TABLE = TopicTable(
    "latency",
    "Latency per operation",
    "Each operation timed on its own, in a pass of its own with the GC on; the timer's "
    "overhead is included, so these describe the distribution's shape, not throughput. "
    "Spikes counts operations slower than "
    f"10{formatting.TIMES} the median.",
    (
        Column("p50", "latency_p50"),
        Column("p99", "latency_p99"),
        Column("p99.9", "latency_p999"),
        Column("max", "latency_max"),
        Column("spikes", "latency_spikes"),
    ),
)
SPIKES_TABLE = TopicTable(
    "spikes",
    "Latency spikes by cause",
    "What happened during each operation slower than "
    f"10{formatting.TIMES} the median: the table was resized or rebuilt (the same operations "
    "replayed, the table read before and after each spike), a GC collection ran, the thread "
    "was preempted (involuntary context switches) or took page faults. A spike may have "
    "several causes; other: none of these.",
    (
        Column("spikes", "latency_spikes"),
        Column("resize", "latency_spikes_resize"),
        Column("GC", "latency_spikes_gc"),
        Column("preempted", "latency_spikes_preempted"),
        Column("page faults", "latency_spikes_page_faults"),
        Column("other", "latency_spikes_unexplained"),
    ),
)


def latency_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """Per size, key kind, Python and workload: each map's p50 -> max as one line (log axis)."""
    metrics = [m for _, m in PERCENTILES]
    rows = latest_per_python(frame[frame["metric"].isin(metrics)])
    if rows.empty:
        return
    keys = ["size", "key_kind", "python", "workload", "map", "params"]
    wide = rows.pivot_table(index=keys, columns="metric", values="value", aggfunc="median")
    wide = wide.reset_index()
    several = wide["python"].nunique() > 1
    order = first_seen(rows["map"])  # lines and colours in the order maps were run
    wide = wide.sort_values("map", key=lambda m: m.map(order), kind="stable")
    count = 0
    for (size, key_kind, python, workload), part in wide.groupby(
        keys[:4], dropna=False, sort=False
    ):
        lines = [
            (map_label(r["map"], r["params"]), [float(r.get(m, float("nan"))) for m in metrics])
            for r in part.to_dict("records")
        ]
        if len(lines) < 2 or not any(v > 0 for _, ys in lines for v in ys):
            continue
        yield charts.percentile_chart(
            title=f"{workload}: latency percentiles",
            subtitle=where(size, key_kind, python, several),
            lines=lines,
            positions=[label for label, _ in PERCENTILES],
            unit="s",
            anchor=anchor("latency-chart", f"{workload} {size} {key_kind} {python}"),
        )
        count += 1
        if count >= MAX_CHARTS:
            return


def tails_finding(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    """The three highest p99.9 latencies, with their p50, maximum and spikes by cause."""
    rows = _latest(frame, ("latency_p50", "latency_p999", "latency_max", "latency_spikes"))
    if rows.empty or "latency_p999" not in set(rows["metric"]):
        return None
    wide = metric_columns(rows).sort_values("latency_p999", ascending=False, kind="stable")
    several = wide["python"].nunique() > 1
    lines: list[Line] = []
    for row in records(wide.head(3)):
        parts = [
            Fragment(case_line(row, several), href(section, row), "figure"),
            Fragment(f": p99.9 {formatting.value(row['latency_p999'], 's')}"),
        ]
        if "latency_p50" in row:
            parts.append(
                Fragment(
                    f" ({formatting.factor(row['latency_p999'] / row['latency_p50'])} its p50)"
                )
            )
        if "latency_max" in row:
            parts.append(Fragment(f", max {formatting.value(row['latency_max'], 's')}"))
        parts += _spike_fragments(row)
        lines.append(tuple(parts))
    return topic("Worst tail latency", lines, "The three highest p99.9 latencies.")


def _spike_fragments(row: Mapping[str, Any]) -> list[Fragment]:
    total = row.get("latency_spikes")
    if total is None or pd.isna(total):
        return []
    causes = [  # the cause is the metric's suffix: latency_spikes_page_faults -> page faults
        f"{k.removeprefix(SPIKE_CAUSE).replace('_', ' ')} {row[k]:,.0f}"
        for k in sorted(row)
        if isinstance(k, str) and k.startswith(SPIKE_CAUSE) and not pd.isna(row[k]) and row[k]
    ]
    text = f", {total:,.0f} spike{'s' if total != 1 else ''}"
    return [Fragment(text + (f" ({', '.join(causes)})" if causes else ""))]


def _latest(frame: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    wanted = set(metrics)
    return latest_per_python(
        frame[metric_mask(frame, lambda m: m in wanted or m.startswith(SPIKE_CAUSE))]
    )
