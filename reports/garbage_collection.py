"""Garbage collection: the collections and pauses table (with each Python's GC thresholds),
pause against map size per map and value kind, the findings in words, and the pause
distributions.

Every collection the cyclic GC ran during one run of the workload is recorded (gc.callbacks),
with the GC on; GC figures depend on the thresholds, which differ between Pythons (700 vs 2000
on 3.13). A case's value kind and the form a map stored it in (objects, or the same data as
bytes off the heap) are in its params (`value_kind=record, value_form=json-bytes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from mapbench.reports import charts
from mapbench.reports.environments import Environments, env_text
from mapbench.reports.findings import Fragment, Line, Topic, href, metric_columns, records, topic
from mapbench.reports.rows import first_seen, latest_per_python, version_key
from mapbench.reports.tables import (
    Column,
    Section,
    TopicTable,
    anchor,
    case_text,
    map_label,
    metric_title,
    where,
)

from mapbench import formatting
from mapbench.case import KEY_COLUMNS

MAX_CHARTS = 12
LONGEST = "gc_pause_max"  # the longest collection of one run, any generation
FULL = "gc_collections_gen2"
LONGEST_FULL = "gc_pause_max_gen2"

TABLE = TopicTable(
    "gc",
    "Garbage collection",
    "Every collection the cyclic GC ran during one run of the workload, with the GC on "
    "(gc.callbacks): how many, how many of them full (generation 2), the objects they examined "
    "and freed, the longest pause, the longest full collection and the pauses' total, per run. "
    "Time per operation with the GC on is the same run timed whole (the time table keeps the "
    "GC paused).",
    (
        Column("collections", "gc_collections"),
        Column("gen 2", FULL),
        Column("objects examined", "gc_examined_objects"),
        Column("objects collected", "gc_collected_objects"),
        Column("longest pause", LONGEST),
        Column("longest gen 2", LONGEST_FULL),
        Column("total pause", "gc_pause_total"),
        Column("time/op, GC on", "time_gc_on"),
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
    for n, (key, group) in enumerate(pauses.groupby(["metric", *KEY_COLUMNS], dropna=False)):
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
        keyed = dict(zip(["metric", *KEY_COLUMNS], key, strict=True))
        yield charts.box_chart(
            title=f"{metric_title(str(keyed['metric']))}: {case_text(keyed)}",
            subtitle="every collection · box: quartiles · whiskers: 5th to 95th percentile",
            rows=rows,
            unit=str(group["unit"].iloc[0]),
            anchor=anchor("gc", f"{keyed['metric']} {case_text(keyed)}"),
        )


def size_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """Per workload, key kind and Python: each map's longest pause against its size (log-log),
    one line per map and value kind, where a case was measured at two sizes or more."""
    rows = latest_per_python(frame[frame["metric"] == LONGEST])
    if rows.empty:
        return
    keys = ["workload", "key_kind", "python"]
    several = rows["python"].nunique() > 1
    order = first_seen(rows["map"])
    rows = rows.sort_values("map", key=lambda m: m.map(order), kind="stable")
    count = 0
    for (workload, key_kind, python), part in rows.groupby(keys, dropna=False, sort=False):
        lines = []
        for (name, params), line in part.groupby(["map", "params"], dropna=False, sort=False):
            by_size = line.groupby("size")["value"].median()
            points = [(float(n), float(v)) for n, v in by_size.items() if v > 0]
            if len(points) >= 2:
                lines.append((map_label(str(name), str(params)), points))
        if not lines:
            continue
        yield charts.loglog_chart(
            title=f"{workload}: longest GC pause against map size",
            subtitle=where(float("nan"), str(key_kind), str(python), several)
            + " · longest collection of one run, GC on",
            lines=lines,
            x_label="entries",
            unit="s",
            anchor=anchor("gc-size", f"{workload} {key_kind} {python}"),
        )
        count += 1
        if count >= MAX_CHARTS:
            return


def pause_finding(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    """Per workload, size and value kind where some map ran full collections: each map's
    longest full collection, and "none" for the maps that ran none with the same data."""
    wanted = {FULL, LONGEST_FULL}
    rows = latest_per_python(frame[frame["metric"].isin(wanted)])
    if rows.empty:
        return None
    wide = metric_columns(rows)
    for metric in wanted - set(wide.columns):  # e.g. ci's exact pass keeps counts, not pauses
        wide[metric] = float("nan")
    wide["value_kind"] = [_value_kind(str(p)) for p in wide["params"]]
    several = wide["python"].nunique() > 1
    lines: list[Line] = []
    slices = ["workload", "size", "key_kind", "value_kind", "python"]
    for _, part in wide.sort_values("size", ascending=False).groupby(slices, sort=False):
        cases = records(part.sort_values(LONGEST_FULL, ascending=False, kind="stable"))
        if not any(_full(c) for c in cases):
            continue
        first = cases[0]
        head = f"{first['workload']}, {int(first['size']):,} entries, {first['value_kind']} values"
        parts = [Fragment(head + (f", Python {first['python']}" if several else "") + ": ")]
        for i, case in enumerate(cases):
            label = map_label(str(case["map"]), _without_kind(str(case["params"])))
            said = _full_text(case)
            parts.append(Fragment(("; " if i else "") + label, href(section, case), "figure"))
            parts.append(Fragment(f" {said}", css="" if _full(case) else "good"))
        lines.append(tuple(parts))
    note = (
        "Full (generation-2) collections examine everything the GC tracks: a map of objects "
        "adds its values to every one; the same data stored off the heap adds nothing."
    )
    return topic("GC pauses", lines, note) if lines else None


def _full(case: Mapping[str, Any]) -> bool:
    count = case.get(FULL)
    return count is not None and not pd.isna(count) and count > 0


def _full_text(case: Mapping[str, Any]) -> str:
    if not _full(case):
        return "no full collection"
    count, longest = int(case[FULL]), case.get(LONGEST_FULL)
    text = f"{count:,} full collection{'s' if count != 1 else ''}"
    if longest is not None and not pd.isna(longest):
        text += f", the longest {formatting.value(longest, 's')}"
    return text


def _value_kind(params: str) -> str:
    """The value kind a case's params name; results from before value kinds hold ints."""
    for part in params.split(", "):
        name, _, value = part.partition("=")
        if name == "value_kind":
            return value
    return "int"


def _without_kind(params: str) -> str:
    """Params without the value kind (the finding's heading says it once)."""
    return ", ".join(p for p in params.split(", ") if p and not p.startswith("value_kind="))
