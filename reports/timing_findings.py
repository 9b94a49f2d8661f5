"""Findings about time: the fastest map per workload and its margin, each map against dict.

Margins between maps are `mapbench.compare` verdicts (the same statistic, bootstrap interval
and false-discovery control as a comparison of two runs), so "fastest" is only claimed with
its interval, and a tie within the minimum effect is called a tie.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from mapbench.reports.findings import Fragment, Line, Topic, records, topic
from mapbench.reports.rows import latest_per_python
from mapbench.reports.timing import REFERENCE, TimeTable

from mapbench import formatting
from mapbench.case import size_key
from mapbench.compare import Verdict, compare
from mapbench.errors import MapbenchError
from mapbench.results import ResultSet
from mapbench.thresholds import Thresholds

DETAILED = 3  # up to this many (table, Python) columns are described one by one
Key = tuple[Any, ...]  # (source, size, key_kind, python, workload, map, params)
Margins = Mapping[tuple[Key, Key], Mapping[str, Any]]


def time_topics(
    frame: pd.DataFrame, tables: Sequence[TimeTable], thresholds: Thresholds
) -> list[Topic | None]:
    """The fastest map per workload, then each map against dict."""
    margins = _margins(frame, tables, thresholds)
    return [_fastest(tables, margins), _against_reference(tables, margins)]


def _pairs(tables: Sequence[TimeTable]) -> list[tuple[Key, Key]]:
    """(base, candidate) cells to compare: fastest vs runner-up, and dict vs every other map."""
    out = []
    for t in tables:
        for p in t.pythons:
            for w in t.workloads:
                where = (t.source, size_key(t.size), t.key_kind, p, w)
                ranked = t.fastest(w, p)
                if len(ranked) >= 2:
                    out.append(((*where, *ranked[0][1:]), (*where, *ranked[1][1:])))
                refs = [
                    (m, params)
                    for m, params in t.maps
                    if m == REFERENCE and t.cell(m, params, w, p)
                ]
                if len(refs) != 1:
                    continue
                for m, params in t.maps:
                    if m != REFERENCE and t.cell(m, params, w, p):
                        out.append(((*where, *refs[0]), (*where, m, params)))
    return out


def _margins(
    frame: pd.DataFrame, tables: Sequence[TimeTable], thresholds: Thresholds
) -> dict[tuple[Key, Key], dict[str, Any]]:
    """compare() of every pair in one call: each pair's cells relabelled as one case."""
    pairs = _pairs(tables)
    times = latest_per_python(frame[frame["metric"] == "time"]).reset_index(drop=True)
    if not pairs or times.empty:
        return {}
    columns = ["source", "size", "key_kind", "python", "workload", "map", "params"]
    index = times.assign(size=times["size"].map(size_key)).groupby(columns, sort=False).indices
    sides: list[list[int]] = [[], []]
    labels: list[list[str]] = [[], []]
    for i, pair in enumerate(pairs):
        for side, key in enumerate(pair):
            rows = index.get(key, np.array([], dtype=int))
            sides[side].extend(int(r) for r in rows)
            labels[side].extend([str(i)] * len(rows))
    blank = {"params": "", "benchmark": "", "machine": "", "commit": "", "env": ""}
    base, cand = (
        ResultSet(times.iloc[rows].assign(map=names_, **blank).reset_index(drop=True))
        for rows, names_ in zip(sides, labels, strict=True)
    )
    try:
        rows = compare(base, cand, thresholds).rows
    except MapbenchError:
        return {}
    return {pairs[int(r["map"])]: r for r in records(rows)}


def _columns(tables: Sequence[TimeTable]) -> list[tuple[TimeTable, str]]:
    return [(t, p) for t in tables for p in t.pythons]


def _where(t: TimeTable, python: str, columns: Sequence[tuple[TimeTable, str]]) -> str:
    """What tells this column apart from the others: size, key kind, source, Python."""
    parts = []
    if len({size_key(c.size) for c, _ in columns}) > 1 and size_key(t.size) >= 0:
        parts.append(f"{int(t.size):,}")
    if len({c.key_kind for c, _ in columns}) > 1:
        parts.append(t.key_kind)
    if len({c.source for c, _ in columns}) > 1:
        parts.append(t.source)
    if len({p for _, p in columns}) > 1:
        parts.append(f"Python {python}")
    return " · ".join(p for p in parts if p)


def _fastest(tables: Sequence[TimeTable], margins: Margins) -> Topic | None:
    columns = _columns(tables)
    if not columns:
        return None
    lines: list[Line] = []
    if len(columns) <= DETAILED:
        for t, p in columns:
            for w in t.workloads:
                ranked = t.fastest(w, p)
                if ranked:
                    lines.append(_fastest_line(t, p, w, ranked, margins, _where(t, p, columns)))
    else:
        lines = _fastest_counts(columns)
    return topic("Fastest map per workload", lines)


def _fastest_line(
    t: TimeTable,
    python: str,
    workload: str,
    ranked: Sequence[tuple[float, str, str]],
    margins: Margins,
    where: str,
) -> Line:
    value, m, params = ranked[0]
    parts = [
        Fragment(f"{workload}{f' ({where})' if where else ''}: "),
        Fragment(t.label(m, params), "#" + t.row_id(m, params), "figure"),
        Fragment(f" {formatting.value(value, 's')}"),
    ]
    if len(ranked) < 2:
        return (*parts, Fragment(" (the only map measured)"))
    _, m2, params2 = ranked[1]
    key = (t.source, size_key(t.size), t.key_kind, python, workload)
    row = margins.get(((*key, m, params), (*key, m2, params2)))
    parts += [Fragment("; next "), Fragment(t.label(m2, params2), "#" + t.row_id(m2, params2))]
    return (*parts, *_margin(row, "slower"))


def _margin(row: Mapping[str, Any] | None, word: str) -> list[Fragment]:
    """`+27% slower [+19%, +35%]`, or why no margin is claimed."""
    if row is None:
        return [Fragment(" (no margin: samples missing)")]
    change, interval = formatting.change_and_interval(row["ratio"], row["ci_low"], row["ci_high"])
    verdict = row["verdict"]
    if verdict == Verdict.NO_CHANGE:
        return [Fragment(f" {change}: a tie within the minimum effect")]
    parts = [Fragment(" "), Fragment(f"{change} {word}", css="figure")]
    if interval != formatting.MISSING:
        parts.append(Fragment(f" {interval}"))
    if verdict not in (Verdict.REGRESSION, Verdict.IMPROVEMENT):
        parts.append(
            Fragment(f" ({verdict}: not significant, n={row['base_n']}/{row['candidate_n']})")
        )
    return parts


def _fastest_counts(columns: Sequence[tuple[TimeTable, str]]) -> list[Line]:
    """Many tables: per workload, how often each map was fastest."""
    wins: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for t, p in columns:
        for w in t.workloads:
            ranked = t.fastest(w, p)
            if ranked:
                name = t.label(*ranked[0][1:])
                wins.setdefault(w, {}).setdefault(name, 0)
                wins[w][name] += 1
                totals[w] = totals.get(w, 0) + 1
    lines: list[Line] = []
    for w, counts in wins.items():
        text = ", ".join(f"{m} in {n}" for m, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        lines.append((Fragment(f"{w}: fastest "), Fragment(text, css="figure"),
                      Fragment(f" of {totals[w]} tables")))  # fmt: skip
    return lines


def _against_reference(tables: Sequence[TimeTable], margins: Margins) -> Topic | None:
    """Per map: where it beats dict and where it loses, significant or not."""
    columns = _columns(tables)
    maps = list(
        dict.fromkeys((m, params) for t in tables for m, params in t.maps if m != REFERENCE)
    )
    if not columns or not maps or not any(m == REFERENCE for t in tables for m, _ in t.maps):
        return None
    lines: list[Line] = []
    for m, params in maps:
        outcome: dict[str, list[tuple[TimeTable, str, str, Mapping[str, Any]]]] = {}
        for t, p in columns:
            refs = [q for mm, q in t.maps if mm == REFERENCE]
            for w in t.workloads:
                key = (t.source, size_key(t.size), t.key_kind, p, w)
                row = margins.get(((*key, REFERENCE, refs[0] if refs else ""), (*key, m, params)))
                if row is not None:
                    outcome.setdefault(str(row["verdict"]), []).append((t, p, w, row))
        if outcome:
            lines.append(_versus_line(tables, m, params, outcome, columns))
    return topic(f"Against {REFERENCE}", lines)


def _versus_line(
    tables: Sequence[TimeTable],
    m: str,
    params: str,
    outcome: Mapping[str, list[tuple[TimeTable, str, str, Mapping[str, Any]]]],
    columns: Sequence[tuple[TimeTable, str]],
) -> Line:
    label = tables[0].label(m, params) if tables else m
    parts: list[Fragment] = [Fragment(label, css="figure"), Fragment(": ")]
    phrases = (
        (Verdict.IMPROVEMENT, "faster on ", "good"),
        (Verdict.REGRESSION, "slower on ", "bad"),
        (Verdict.NO_CHANGE, "within 5% on ", ""),
    )
    first = True
    for verdict, words, css in phrases:
        cases = outcome.get(verdict, [])
        if not cases:
            continue
        if verdict == Verdict.NO_CHANGE and len(cases) > 3:  # ties say little one by one
            parts.append(Fragment(f"{'' if first else '; '}{words}{len(cases)} cases"))
            first = False
            continue
        parts.append(Fragment(("" if first else "; ") + words, css=css))
        first = False
        shown = sorted(cases, key=lambda c: _distance(c[3]), reverse=True)[:6]
        for i, (t, p, w, row) in enumerate(shown):
            where = _where(t, p, columns)
            where = f" ({where})" if where else ""
            change = formatting.change(row["ratio"])
            text = f"{w}{where}" + ("" if verdict == Verdict.NO_CHANGE else f" {change}")
            parts += [Fragment(", " if i else ""), Fragment(text, "#" + t.row_id(m, params))]
        if len(cases) > len(shown):
            parts.append(Fragment(f" and {len(cases) - len(shown)} more"))
    unsure = sum(
        len(v)
        for k, v in outcome.items()
        if k not in (Verdict.IMPROVEMENT, Verdict.REGRESSION, Verdict.NO_CHANGE)
    )
    if unsure:
        parts.append(Fragment(f"{'' if first else '; '}not significant on {unsure}"))
    return tuple(parts)


def _distance(row: Mapping[str, Any]) -> float:
    r = float(row["ratio"])
    return abs(math.log(r)) if r > 0 and math.isfinite(r) else 0.0
