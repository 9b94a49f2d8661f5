"""History across commits as small multiples: one case per panel, relative to its first commit.

Panels of one metric share a grid; every panel puts the same commits at the same x positions
(oldest left) with short hashes on the axis. A line per Python (asv environment) reads as a
ratio to that line's value at its first commit, so panels of different scales compare at a
glance. Constant histories (nothing moved) and empty ones are left out and counted.

Change points come from outside (the change-point detection of the history issue): a frame with
columns map, workload, key_kind, size, metric, commit (the first commit after the change) and
magnitude (new / old). Each matching panel gets a marker at that commit; panels with a change
point or a regression in the comparison are shown first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from mapbench.reports import charts
from mapbench.reports.rows import version_key
from mapbench.reports.tables import anchor, case_text, metric_title, sentences

from mapbench import formatting
from mapbench.case import key

MAX_PANELS = 48
CHANGE_POINT_COLUMNS = ("map", "workload", "key_kind", "size", "metric", "commit", "magnitude")
_PANEL = ["source", "metric", "unit", "benchmark", "map", "workload", "size", "key_kind", "params"]
_MATCH = ("map", "workload", "key_kind", "size", "metric")  # how a change point finds its panel
# How a panel finds the comparison's regressions (whose rows lack `map` when maps are compared).
REGRESSION_KEY = ("metric", "workload", "size", "key_kind", "params")


@dataclass(frozen=True)
class HistoryGroup:
    """The panels of one metric."""

    title: str
    anchor: str
    panels: tuple[charts.Chart, ...]


@dataclass(frozen=True)
class History:
    groups: tuple[HistoryGroup, ...] = ()
    note: str = ""


def history(
    frame: pd.DataFrame,
    regressed: set[tuple[Any, ...]],
    change_points: pd.DataFrame | None = None,
) -> History:
    """Small multiples of every case measured at two or more commits.

    `regressed` holds the comparison's regressions as `key(row, REGRESSION_KEY)`.
    """
    dated = frame[
        (frame["status"] == "ok") & frame["commit_date"].notna() & (frame["metric"] != "")
    ]
    if dated.empty:
        return History()
    commits = dated.groupby("commit")["commit_date"].min().sort_values(kind="stable").index.tolist()
    if len(commits) < 2:
        return History()
    per_commit = (
        dated.assign(size=dated["size"].astype("float"))
        .groupby([*_PANEL, "python", "commit"], dropna=False)["value"]
        .median()
        .dropna()
        .reset_index()
    )
    spans = per_commit.groupby(_PANEL, dropna=False).agg(
        commits=("commit", "nunique"), low=("value", "min"), high=("value", "max")
    )
    spans = spans[spans["commits"] >= 2]
    constant = int((spans["low"] == spans["high"]).sum())
    spans = spans[(spans["low"] != spans["high"]) & (spans["low"] > 0)]
    if spans.empty:
        return History(note=_note(0, 0, constant))
    points = _change_points(change_points, commits)
    keyed_spans = [dict(zip(_PANEL, k, strict=True)) for k in spans.index]
    flagged = [key(k, REGRESSION_KEY) in regressed or key(k, _MATCH) in points for k in keyed_spans]
    spans = spans.assign(moved=spans["high"] / spans["low"], flagged=flagged)
    spans = spans.sort_values(["flagged", "moved"], ascending=False, kind="stable")
    chosen = spans.index[:MAX_PANELS]
    selected = per_commit.merge(chosen.to_frame(index=False), on=_PANEL)
    by_panel = dict(iter(selected.groupby(_PANEL, dropna=False, sort=False)))
    position = {c: i for i, c in enumerate(commits)}
    labels = [formatting.short_commit(str(c)) for c in commits]
    panels: dict[str, list[tuple[dict[str, Any], _Lines, tuple[Any, ...]]]] = {}
    hover = charts.dots_fit(len(commits))  # hover texts only on the dots drawn
    for panel in chosen:
        keyed = dict(zip(_PANEL, cast(tuple[Any, ...], panel), strict=True))
        lines = _series(keyed, by_panel[panel], position, hover)
        panels.setdefault(str(keyed["metric"]), []).append((keyed, lines, key(keyed, _MATCH)))
    groups = []
    for metric, drawn in sorted(panels.items(), key=lambda kv: (kv[0] != "time", kv[0])):
        # one y scale per metric: a panel's height of change means the same in every panel
        ratios = [y for _, lines, _ in drawn for _, pts in lines for _, y, _ in pts]
        y_range = (min(ratios, default=1.0), max(ratios, default=1.0))
        built = tuple(
            _panel(keyed, lines, labels, points.get(match, []), y_range)
            for keyed, lines, match in drawn
        )
        groups.append(HistoryGroup(metric_title(metric), anchor("history", metric), built))
    return History(tuple(groups), _note(len(chosen), len(spans), constant))


def _note(shown: int, drawable: int, constant: int) -> str:
    parts = []
    if drawable > shown:
        parts.append(
            f"{shown} of {drawable} cases shown: changed or regressed first, then the most moved"
        )
    if constant:
        parts.append(
            f"{constant} constant histor{'ies' if constant != 1 else 'y'} (nothing moved) not drawn"
        )
    return sentences(parts)


def _change_points(
    found: pd.DataFrame | None, commits: Sequence[str]
) -> dict[tuple[Any, ...], list[tuple[int, float]]]:
    """(map, workload, key_kind, size, metric) -> [(commit position, magnitude)]; a commit may
    be given by any unique prefix of its hash."""
    if found is None or found.empty:
        return {}
    missing = set(CHANGE_POINT_COLUMNS) - set(found.columns)
    if missing:
        raise ValueError(f"change points lack the columns {', '.join(sorted(missing))}")
    out: dict[tuple[Any, ...], list[tuple[int, float]]] = {}
    for row in found.to_dict("records"):
        at = [i for i, c in enumerate(commits) if str(c).startswith(str(row["commit"]))]
        if len(at) != 1:
            continue
        out.setdefault(key(row, _MATCH), []).append((at[0], float(row["magnitude"])))
    return out


_Lines = list[tuple[str, list[tuple[int, float, str]]]]  # (label, [(position, ratio, hover)])


def _series(
    keyed: dict[str, Any], rows: pd.DataFrame, position: dict[Any, int], hover: bool
) -> _Lines:
    """One line per Python: each value over the line's first non-zero value (with a hover text
    per point if `hover`)."""
    unit = str(keyed["unit"])
    pythons = sorted(rows["python"].unique(), key=version_key)
    series = []
    for python in pythons:
        line = rows[rows["python"] == python].sort_values(
            "commit", key=lambda c: c.map(position), kind="stable"
        )
        values = line["value"].tolist()
        base = next((v for v in values if v), 0.0)
        if not base:
            continue
        pts = [
            (position[c], v / base,
             f"{formatting.short_commit(str(c))}: {formatting.value(v, unit)} "
             f"({formatting.factor(v / base)} first)" if hover else "")
            for c, v in zip(line["commit"], values, strict=True)
        ]  # fmt: skip
        series.append((f"Python {python}", pts))
    return series


def _panel(
    keyed: dict[str, Any],
    series: _Lines,
    labels: Sequence[str],
    points: Iterable[tuple[int, float]],
    y_range: tuple[float, float],
) -> charts.Chart:
    markers = [
        (at, formatting.factor(m), f"change point at {labels[at]}: {formatting.factor(m)}")
        for at, m in points
        if math.isfinite(m)
    ]
    case = case_text(keyed)
    subtitle = " · ".join(p for p in (str(keyed["source"]), str(keyed["benchmark"])) if p)
    if len(series) == 1:
        subtitle += f" · {series[0][0]}"
    return charts.history_panel(
        title=case,
        subtitle=subtitle,
        series=series,
        commits=labels,
        markers=markers,
        y_range=y_range,
        anchor=anchor("history", f"{keyed['metric']} {case} {keyed['source']}"),
    )
