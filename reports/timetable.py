"""Time per operation: maps as rows, workloads as columns, one table per size and key kind.

Each cell is a low percentile of the time samples (the statistic comparisons use, p10 by
default: the fast end of the distribution is what stays put on a noisy machine), the median
beside it, and the ratio to `dict` on the same Python; the fastest map of each column is marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from mapbench.reports import selection
from mapbench.reports.cells import Cell, Section, Table, num

from mapbench import formatting
from mapbench.thresholds import STATISTICS

REFERENCE = "dict"  # the map every other one is measured against
STATISTIC_NAMES = {"min": "minimum", "p10": "10th percentile (p10)", "p25": "25th percentile"}
_TABLE_KEYS = ["source", "size", "key_kind"]
_CELL_KEYS = ["map", "params", "workload", "python"]


@dataclass(frozen=True)
class _Timing:
    statistic: float
    median: float
    n: int


def describe(statistic: str) -> str:
    """What a cell shows, for the section's note."""
    shown = STATISTIC_NAMES.get(statistic, statistic)
    median = "" if statistic == "median" else ", the median below it"
    return (
        f"Each cell: the {shown} of the time per operation over every sample{median}, and "
        f"the ratio to {REFERENCE} on the same Python. The fastest map of each column is "
        "highlighted; click a header to sort."
    )


def time_sections(frame: pd.DataFrame, statistic: str) -> Iterable[Section]:
    """One table per (source, size, key kind) of the time metric, latest commit per Python."""
    times = selection.latest_per_python(frame[frame["metric"] == "time"])
    if times.empty:
        return
    timings = _timings(times, STATISTICS[statistic], statistic != "median")
    sources = times["source"].nunique() > 1
    ranks = {c: selection.first_seen(times[c]) for c in ("map", "workload", "key_kind")}
    tables = sorted(
        times.groupby(_TABLE_KEYS, dropna=False, sort=False),
        key=lambda g: (str(g[0][0]), _size_rank(g[0][1]), ranks["key_kind"][g[0][2]]),
    )
    for (source, size, key_kind), part in tables:
        where = [_size_text(size), f"{key_kind} keys" if key_kind else ""]
        title = " · ".join(w for w in where if w) or "all cases"
        if sources:
            title += f" ({source})"
        counts = sorted({t.n for k, t in timings.items() if _same(k[:3], (source, size, key_kind))})
        yield Section(
            title,
            selection.anchor("time", title),
            _samples_note(counts),
            _table(part, timings, (source, size, key_kind), ranks),
        )


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Key equality in which a missing size (NA: a benchmark without one) equals only another."""
    return all(
        pd.isna(x) and pd.isna(y) if pd.isna(x) or pd.isna(y) else x == y
        for x, y in zip(a, b, strict=True)
    )


def _size_rank(size: Any) -> int:
    return -1 if pd.isna(size) else int(size)


def _size_text(size: Any) -> str:
    return "" if pd.isna(size) else f"size {int(size):,}"


def _timings(times: pd.DataFrame, q: float, with_median: bool) -> dict[tuple[Any, ...], _Timing]:
    """Per case and Python: the statistic and median of every sample of every run pooled."""
    out = {}
    for key, group in times.groupby([*_TABLE_KEYS, *_CELL_KEYS], dropna=False, sort=False):
        samples = [x for s in group["samples"] for x in s]
        if samples:
            values = np.asarray(samples, dtype=float)
            stat = float(np.percentile(values, q))
            median = float(np.median(values)) if with_median else np.nan
        else:  # the tool kept no samples: its own summary (asv's median) is all there is
            stat = median = float(group["value"].median())
        out[tuple(key)] = _Timing(stat, median, len(samples))
    return out


def _samples_note(counts: Sequence[int]) -> str:
    if not counts or counts == [0]:
        return "No samples recorded: each cell is the tool's own summary."
    low, high = counts[0], counts[-1]
    return f"{low} samples per cell." if low == high else f"{low} to {high} samples per cell."


def _table(
    part: pd.DataFrame,
    timings: dict[tuple[Any, ...], _Timing],
    where: tuple[Any, ...],
    ranks: dict[str, dict[Any, int]],
) -> Table:
    names = selection.pythons(part)
    workloads = sorted(part["workload"].unique(), key=ranks["workload"].__getitem__)
    rows = sorted(
        set(zip(part["map"], part["params"], strict=True)), key=lambda r: (ranks["map"][r[0]], r[1])
    )
    with_params = selection.params_needed(part)

    def timing(m: str, params: str, w: str, p: str) -> _Timing | None:
        return timings.get((*where, m, params, w, p))

    columns = [(p, w) for p in names for w in workloads]
    best = {}
    reference = {}
    for p, w in columns:
        measured = [t.statistic for m, params in rows if (t := timing(m, params, w, p))]
        best[p, w] = min(measured, default=np.nan)
        of_dict = [t for m, params in rows if m == REFERENCE and (t := timing(m, params, w, p))]
        reference[p, w] = of_dict[0].statistic if len(of_dict) == 1 else np.nan
    table_rows = []
    for m, params in rows:
        cells = [Cell(m)] + ([Cell(params)] if with_params else [])
        for p, w in columns:
            cells.append(_cell(timing(m, params, w, p), best[p, w], reference[p, w], m))
        table_rows.append(tuple(cells))
    lead = ["map", *(["params"] if with_params else [])]
    return Table(
        headers=(*lead, *(w for _, w in columns)),
        rows=tuple(table_rows),
        numeric=(*(False for _ in lead), *(True for _ in columns)),
        groups=selection.python_groups(len(lead), names, len(workloads)),
        column_css=selection.group_starts(len(lead), names, len(workloads)),
    )


def _cell(t: _Timing | None, best: float, reference: float, map_name: str) -> Cell:
    if t is None:
        return Cell(formatting.MISSING)
    sub = []
    if not np.isnan(t.median):
        sub.append(f"med {formatting.value(t.median, 's')}")
    if map_name != REFERENCE and reference > 0:
        sub.append(f"{formatting.factor(t.statistic / reference)} {REFERENCE}")
    return Cell(
        formatting.value(t.statistic, "s"),
        num(t.statistic),
        css="best" if t.statistic == best else "",
        sub=tuple(sub),
        title=f"{t.n} samples" if t.n else "no samples recorded",
    )
