"""Garbage collection: the collections and pauses table (with each Python's GC thresholds) and
the pause distributions.

Every collection the cyclic GC ran during the workload is recorded (gc.callbacks), with the GC
on; GC figures depend on the thresholds, which differ between Pythons (700 vs 2000 on 3.13).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
from mapbench.reports import charts
from mapbench.reports.environments import Environments, env_text
from mapbench.reports.rows import version_key
from mapbench.reports.tables import ROW_COLUMNS, Column, TopicTable, anchor, case_text, metric_title

from mapbench import formatting

MAX_CHARTS = 12

TABLE = TopicTable(
    "gc",
    "Garbage collection",
    "Every collection the cyclic GC ran during the workload (gc.callbacks): how many, how "
    "many of them full (generation 2), objects freed, and the pauses.",
    (
        Column("collections", "gc_collections"),
        Column("gen 2", "gc_collections_gen2"),
        Column("objects collected", "gc_collected_objects"),
        Column("total pause", "gc_pause_total"),
        Column("max pause", "gc_pause_max"),
    ),
)


def thresholds_note(environments: Environments) -> str:
    """`GC threshold (700, 10, 10) on Python 3.11.7`, per Python, for the GC table's note."""
    found: dict[str, set[str]] = {}
    for env in environments.values():
        if env.get("gc_threshold"):
            found.setdefault(str(env.get("python") or "?"), set()).add(
                env_text(env["gc_threshold"])
            )
    every = {t for ts in found.values() for t in ts}
    if len(found) > 1 and len(every) == 1:
        return f"GC threshold ({every.pop()}) on every Python"
    parts = [f"({'; '.join(sorted(t))}) on Python {p}" for p, t in sorted(found.items())]
    return f"GC threshold {', '.join(parts)}" if parts else ""


def pause_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """GC pause distributions: one row per Python (and commit, when several)."""
    mask = frame["metric"].str.startswith("gc_pause") & (frame["n_samples"] >= 2)
    pauses = frame[mask & (frame["status"] == "ok")]
    for n, (key, group) in enumerate(pauses.groupby(["metric", *ROW_COLUMNS], dropna=False)):
        if n >= MAX_CHARTS:
            return
        several = group["commit"].nunique() > 1
        rows: list[tuple[str, Sequence[float]]] = []
        for (python, commit), part in group.groupby(["python", "commit"], sort=True):
            label = f"py{python}" + (f" {formatting.short_commit(str(commit))}" if several else "")
            rows.append((label, [x for s in part["samples"] for x in s]))
        if not any(x > 0 for _, samples in rows for x in samples):
            continue  # a chart of zeros says nothing
        rows.sort(key=lambda r: version_key(r[0][2:].split(" ")[0]))
        keyed = dict(zip(["metric", *ROW_COLUMNS], key, strict=True))
        yield charts.box_chart(
            title=f"{metric_title(str(keyed['metric']))}: {case_text(keyed)}",
            subtitle="every collection · box: quartiles · whiskers: 5th to 95th percentile",
            rows=rows,
            unit=str(group["unit"].iloc[0]),
            anchor=anchor("gc", f"{keyed['metric']} {case_text(keyed)}"),
        )
