"""Charts of the topic tables: latency percentiles per map, memory per entry per map.

Both read the latest commit of each Python, like the tables they stand beside. Charts with
fewer than two maps, or nothing but zeros, are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from mapbench.reports import charts, names, selection
from mapbench.reports.themes import MEMORY_FLOOR

MAX_CHARTS = 12  # of each kind
PERCENTILES = (("p50", "latency_p50"), ("p99", "latency_p99"), ("p99.9", "latency_p999"),
               ("max", "latency_max"))  # fmt: skip
MEMORY = ("memory_bytes_per_entry", "memory_traced_bytes_per_entry")


def _where(size: Any, key_kind: str, python: str, several: bool) -> str:
    parts = [
        f"size {int(size):,}" if not pd.isna(size) else "",
        f"{key_kind} keys" if key_kind else "",
    ]
    if several:
        parts.append(f"Python {python}")
    return " · ".join(p for p in parts if p)


def _label(m: str, params: str) -> str:
    return f"{m} ({params})" if params else m


def latency_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """Per size, key kind, Python and workload: each map's p50 -> max as one line (log axis)."""
    metrics = [m for _, m in PERCENTILES]
    rows = selection.latest_per_python(frame[frame["metric"].isin(metrics)])
    if rows.empty:
        return
    keys = ["size", "key_kind", "python", "workload", "map", "params"]
    wide = rows.pivot_table(index=keys, columns="metric", values="value", aggfunc="median")
    wide = wide.reset_index()
    several = wide["python"].nunique() > 1
    order = selection.first_seen(rows["map"])  # lines and colours in the order maps were run
    wide = wide.sort_values("map", key=lambda m: m.map(order), kind="stable")
    count = 0
    for (size, key_kind, python, workload), part in wide.groupby(
        keys[:4], dropna=False, sort=False
    ):
        lines = [
            (_label(r["map"], r["params"]), [float(r.get(m, float("nan"))) for m in metrics])
            for r in part.to_dict("records")
        ]
        if len(lines) < 2 or not any(v > 0 for _, ys in lines for v in ys):
            continue
        yield charts.percentile_chart(
            title=f"{workload}: latency percentiles",
            subtitle=_where(size, key_kind, python, several),
            lines=lines,
            positions=[label for label, _ in PERCENTILES],
            unit="s",
            anchor=selection.anchor("latency-chart", f"{workload} {size} {key_kind} {python}"),
        )
        count += 1
        if count >= MAX_CHARTS:
            return


def memory_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """Per size, key kind and Python: each map's memory per entry (median over workloads)."""
    for metric in MEMORY:
        rows = selection.latest_per_python(frame[frame["metric"] == metric])
        if not rows.empty:
            break
    else:
        return
    keys = ["size", "key_kind", "python"]
    several = rows["python"].nunique() > 1
    order = selection.first_seen(rows["map"])
    for n, ((size, key_kind, python), part) in enumerate(
        rows.groupby(keys, dropna=False, sort=False)
    ):
        if n >= MAX_CHARTS:
            return
        medians = part.groupby(["map", "params"], sort=False)["value"].median().reset_index()
        bars = [
            (_label(str(m), str(p)), float(v))
            for m, p, v in sorted(
                zip(medians["map"], medians["params"], medians["value"], strict=True),
                key=lambda b: order.get(b[0], 0),
            )
        ]
        if len(bars) < 2 or not any(v > 0 for _, v in bars):
            continue
        unseen = [label for label, v in bars if v < MEMORY_FLOOR]
        note = f" · {', '.join(unseen)}: memory unseen (mmap)" if unseen else ""
        yield charts.bar_chart(
            title=names.title(metric),
            subtitle=_where(size, str(key_kind), str(python), several)
            + " · median over workloads"
            + note,
            rows=bars,
            unit="B",
            anchor=selection.anchor("memory-chart", f"{size} {key_kind} {python}"),
        )
