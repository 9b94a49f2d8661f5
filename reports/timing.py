"""Time per operation: maps as rows, workloads as columns, one table per size and key kind.

Each cell is a low percentile of the time samples (the statistic comparisons use, p10 by
default: the fast end of the distribution is what stays put on a noisy machine) with its
bootstrap interval and sample count, and the ratio to `dict` on the same Python; the fastest
map of each column is marked, unstable cells are flagged, and the last column of each Python
is the map's geometric mean over the workloads, relative to `dict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from mapbench.reports import charts
from mapbench.reports.findings import Fragment, Line, Topic, topic
from mapbench.reports.rows import first_seen, latest_per_python, pythons
from mapbench.reports.spread import Spread, spreads
from mapbench.reports.tables import (
    Cell,
    Section,
    Table,
    anchor,
    group_starts,
    num,
    params_needed,
    python_groups,
)

from mapbench import formatting
from mapbench.case import size_key
from mapbench.thresholds import STATISTICS, Thresholds

REFERENCE = "dict"  # the map every other one is measured against
STATISTIC_NAMES = {"min": "minimum", "p10": "10th percentile (p10)", "p25": "25th percentile"}
GEOMEAN = "geo. mean"
MAX_CHARTS = 36  # per-workload time charts in one report
_TABLE_KEYS = ["source", "size", "key_kind"]
_CELL_KEYS = ["map", "params", "workload", "python"]


@dataclass(frozen=True)
class TimeTable:
    """One table's data: where it was measured, its rows and columns, and every cell's spread."""

    source: str
    size: Any
    key_kind: str
    title: str
    anchor: str
    maps: tuple[tuple[str, str], ...]  # (map, params), in the order they were run
    workloads: tuple[str, ...]
    pythons: tuple[str, ...]
    cells: Mapping[tuple[str, str, str, str], Spread]  # (map, params, workload, python)
    with_params: bool

    def cell(self, m: str, params: str, workload: str, python: str) -> Spread | None:
        return self.cells.get((m, params, workload, python))

    def row_id(self, m: str, params: str) -> str:
        return anchor(self.anchor, f"row {m} {params}")

    def label(self, m: str, params: str) -> str:
        return f"{m} ({params})" if self.with_params and params else m

    def fastest(self, workload: str, python: str) -> list[tuple[float, str, str]]:
        """(statistic, map, params) of every map measured on this column, fastest first."""
        found = [
            (s.statistic, m, params)
            for m, params in self.maps
            if (s := self.cell(m, params, workload, python)) and math.isfinite(s.statistic)
        ]
        return sorted(found)


def describe(statistic: str) -> str:
    """What a cell shows, for the section's note."""
    shown = STATISTIC_NAMES.get(statistic, statistic)
    return (
        f"Each cell: the {shown} of the time per operation over every sample; below it, its "
        "95% bootstrap interval, the number of samples n and the ratio to "
        f"{REFERENCE} on the same Python. The fastest map of each column is highlighted; cells "
        "marked unstable have fewer than 5 samples or an interquartile range over 10% of the "
        f"median. {GEOMEAN}: the geometric mean over the workloads of the ratio to {REFERENCE}. "
        "Sort by a column with its header button."
    )


def time_tables(
    frame: pd.DataFrame, statistic: str, thresholds: Thresholds | None = None
) -> list[TimeTable]:
    """One table per (source, size, key kind) of the time metric, latest commit per Python."""
    times = latest_per_python(frame[frame["metric"] == "time"])
    if times.empty:
        return []
    cells = _spreads(times, STATISTICS[statistic], thresholds)
    sources = times["source"].nunique() > 1
    ranks = {c: first_seen(times[c]) for c in ("map", "workload", "key_kind")}
    groups = sorted(
        times.groupby(_TABLE_KEYS, dropna=False, sort=False),
        key=lambda g: (str(g[0][0]), size_key(g[0][1]), ranks["key_kind"][g[0][2]]),
    )
    tables = []
    for (source, size, key_kind), part in groups:
        where = [_size_text(size), f"{key_kind} keys" if key_kind else ""]
        title = " · ".join(w for w in where if w) or "all cases"
        if sources:
            title += f" ({source})"
        maps = sorted(
            set(zip(part["map"], part["params"], strict=True)),
            key=lambda r: (ranks["map"][r[0]], r[1]),
        )
        table_key = (source, size_key(size), key_kind)
        tables.append(
            TimeTable(
                source=str(source),
                size=size,
                key_kind=str(key_kind),
                title=title,
                anchor=anchor("time", title),
                maps=tuple(maps),
                workloads=tuple(
                    sorted(part["workload"].unique(), key=ranks["workload"].__getitem__)
                ),
                pythons=tuple(pythons(part)),
                cells={
                    k[3:]: s for k, s in cells.items() if (k[0], size_key(k[1]), k[2]) == table_key
                },
                with_params=params_needed(part),
            )
        )
    return tables


def _size_text(size: Any) -> str:
    return "" if pd.isna(size) else f"size {int(size):,}"


def _spreads(
    times: pd.DataFrame, q: float, thresholds: Thresholds | None
) -> dict[tuple[Any, ...], Spread]:
    """Per case and Python: the spread of every sample of every run pooled."""
    samples: dict[tuple[Any, ...], list[float]] = {}
    summaries: dict[tuple[Any, ...], float] = {}
    for key, group in times.groupby([*_TABLE_KEYS, *_CELL_KEYS], dropna=False, sort=False):
        pooled = [x for s in group["samples"] for x in s]
        samples[tuple(key)] = pooled
        if not pooled:  # the tool kept no samples: its own summary (asv's median) is all there is
            summaries[tuple(key)] = float(group["value"].median())
    out = spreads(samples, q, thresholds)
    for key, value in summaries.items():
        out[key] = Spread(value, *(math.nan,) * 5, 0, out[key].min_samples)
    return out


def time_sections(tables: Iterable[TimeTable]) -> Iterable[Section]:
    for t in tables:
        yield Section(t.title, t.anchor, _samples_note(t), _table(t))


def _samples_note(t: TimeTable) -> str:
    counts = sorted({s.n for s in t.cells.values()})
    if not counts or counts == [0]:
        return "No samples recorded: each cell is the tool's own summary, without an interval."
    low, high = counts[0], counts[-1]
    return f"{low} samples per cell." if low == high else f"{low} to {high} samples per cell."


def _table(t: TimeTable) -> Table:
    columns = [(p, w) for p in t.pythons for w in t.workloads]
    best = {(p, w): (f[0][0] if (f := t.fastest(w, p)) else np.nan) for p, w in columns}
    reference = {(p, w): _reference(t, w, p) for p, w in columns}
    summary = any(m == REFERENCE for m, _ in t.maps)  # a geometric mean needs the reference
    rows = []
    for m, params in t.maps:
        cells = [Cell(m)] + ([Cell(params)] if t.with_params else [])
        for p in t.pythons:
            for w in t.workloads:
                cells.append(_cell(t.cell(m, params, w, p), best[p, w], reference[p, w], m))
            if summary:
                cells.append(_geomean_cell(t, m, params, p))
        rows.append(tuple(cells))
    lead = ["map", *(["params"] if t.with_params else [])]
    extra = (GEOMEAN,) if summary else ()
    per_python = len(t.workloads) + len(extra)
    headers = (*lead, *(h for _ in t.pythons for h in (*t.workloads, *extra)))
    titles = (
        *("" for _ in lead),
        *(h for _ in t.pythons for h in (
            *(f"Time per operation of {w}" for w in t.workloads),
            *(f"Geometric mean over the workloads of the ratio to {REFERENCE}" for _ in extra),
        )),
    )  # fmt: skip
    starts = group_starts(len(lead), t.pythons, per_python) or ("",) * len(headers)
    kinds = (
        *("" for _ in lead),
        *(("",) * len(t.workloads) + ("summary",) * len(extra)) * len(t.pythons),
    )
    return Table(
        headers=headers,
        rows=tuple(rows),
        numeric=(*(False for _ in lead), *(True for _ in t.pythons for _ in range(per_python))),
        groups=python_groups(len(lead), t.pythons, per_python),
        column_css=tuple(" ".join(filter(None, p)) for p in zip(starts, kinds, strict=True)),
        row_ids=tuple(t.row_id(m, params) for m, params in t.maps),
        header_titles=titles,
    )


def _reference(t: TimeTable, workload: str, python: str) -> float:
    of_dict = [
        s for m, params in t.maps if m == REFERENCE and (s := t.cell(m, params, workload, python))
    ]
    return of_dict[0].statistic if len(of_dict) == 1 else np.nan


def geomean_ratio(t: TimeTable, m: str, params: str, python: str) -> tuple[float, int]:
    """The geometric mean over the workloads of the map's ratio to dict, and how many counted."""
    logs = []
    for w in t.workloads:
        own, ref = t.cell(m, params, w, python), _reference(t, w, python)
        if own is not None and own.statistic > 0 and ref > 0:
            logs.append(math.log(own.statistic / ref))
    return (math.exp(sum(logs) / len(logs)) if logs else math.nan), len(logs)


def _geomean_cell(t: TimeTable, m: str, params: str, python: str) -> Cell:
    ratio, count = geomean_ratio(t, m, params, python)
    if not count:
        return Cell(formatting.MISSING)
    if m == REFERENCE:
        return Cell(formatting.factor(1.0), num(1.0), sub=("reference",))
    plural = "s" if count != 1 else ""
    return Cell(
        formatting.factor(ratio),
        num(ratio),
        sub=(f"{count} workload{plural}",),
        title=f"geometric mean of the ratio to {REFERENCE} over {count} workload{plural}",
    )


def _cell(s: Spread | None, best: float, reference: float, map_name: str) -> Cell:
    if s is None:
        return Cell(formatting.MISSING)
    spread = s.interval_text("s") if s.n >= s.min_samples else ""
    sub = [" · ".join(p for p in (spread if spread != formatting.MISSING else "", f"n {s.n}") if p)]
    if map_name != REFERENCE and reference > 0:
        sub.append(f"{formatting.factor(s.statistic / reference)} {REFERENCE}")
    unstable = s.unstable
    if unstable:
        sub.append("unstable")
    css = " ".join(
        c for c in ("best" if s.statistic == best else "", "unstable" if unstable else "") if c
    )
    return Cell(
        formatting.value(s.statistic, "s"),
        num(s.statistic),
        css=css,
        sub=tuple(sub),
        title=_hover(s, unstable, s.statistic == best),
    )


def _hover(s: Spread, unstable: str, fastest: bool) -> str:
    if not s.n:
        return "no samples recorded: the tool's own summary"
    parts = [
        f"{s.n} samples",
        f"95% interval {s.interval_text('s')}",
        f"median {formatting.value(s.median, 's')}",
        f"IQR {formatting.value_range(s.q1, s.q3, 's')}",
    ]
    if fastest:
        parts.insert(0, "fastest")
    if unstable:
        parts.append(f"unstable: {unstable}")
    return "; ".join(parts)


def time_charts(tables: Iterable[TimeTable]) -> list[tuple[str, charts.Chart]]:
    """Per table and workload: each map's statistic with its interval (table anchor, chart)."""
    out: list[tuple[str, charts.Chart]] = []
    for t in tables:
        for w in t.workloads:
            if len(out) >= MAX_CHARTS:
                return out
            rows = []
            best = {p: (f[0][0] if (f := t.fastest(w, p)) else np.nan) for p in t.pythons}
            for m, params in t.maps:
                for p in t.pythons:
                    s = t.cell(m, params, w, p)
                    if s is None or not math.isfinite(s.statistic):
                        continue
                    label = t.label(m, params) + (f" · {p}" if len(t.pythons) > 1 else "")
                    rows.append(
                        charts.IntervalRow(
                            label, s.statistic, s.low, s.high, s.statistic == best[p]
                        )
                    )
            if len(rows) >= 2:
                out.append((t.anchor, charts.interval_chart(
                    title=w, subtitle=t.title, rows=rows, unit="s",
                    anchor=anchor("chart", f"{t.anchor} {w}"),
                )))  # fmt: skip
    return out


def quality_finding(
    tables: Sequence[TimeTable], environments: Mapping[str, Mapping[str, Any]]
) -> Topic | None:
    """How many time cells are unstable, and the load average of the runs."""
    cells = [s for t in tables for s in t.cells.values() if s.n]
    if not cells:
        return None
    unstable = [s for s in cells if s.unstable]
    loads = sorted(
        {tuple(e["load_average"]) for e in environments.values() if e.get("load_average")}
    )
    parts = [
        Fragment(
            f"{len(unstable)} of {len(cells)}", "#time", "figure bad" if unstable else "figure"
        ),
        Fragment(
            " time cells unstable (fewer than 5 samples, or an interquartile range over 10% of "
            "the median)"
        ),
    ]
    lines: list[Line] = [tuple(parts)]
    if loads:
        shown = "; ".join(", ".join(f"{x:g}" for x in load) for load in loads[:4])
        lines.append((
            Fragment("Load average (1, 5, 15 min) when recorded: "),
            Fragment(shown, "#environment", "figure"),
        ))  # fmt: skip
    return topic("Measurement quality", lines)
