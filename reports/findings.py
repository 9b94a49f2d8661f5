"""What a run found, first: fastest maps, wins and losses against dict, tails, memory, probes.

Every finding is a line of text fragments, the numbers among them linking to the table row
they come from. Margins between maps are `mapbench.compare` verdicts (the same statistic,
bootstrap interval and false-discovery control as a comparison of two runs), so "fastest" is
only claimed with its interval, and a tie within the minimum effect is called a tie.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from mapbench.reports import names, selection
from mapbench.reports.cells import Section, case_key
from mapbench.reports.themes import HOMES, MEMORY_FLOOR, PROBES
from mapbench.reports.timetable import REFERENCE, TimeTable

from mapbench import formatting, theory
from mapbench.compare import compare
from mapbench.errors import MapbenchError
from mapbench.results import ResultSet
from mapbench.thresholds import Thresholds

MAX_LINES = 12  # per topic; the tables hold the rest
DETAILED = 3  # up to this many (table, Python) columns are described one by one
MODEL_CLOSE = 0.02  # measured probe means within 2% of the model are "as modelled"
SPIKES = "latency_spikes_"  # latency_spikes_<cause>: spikes by recorded cause


@dataclass(frozen=True)
class Fragment:
    text: str
    href: str = ""
    css: str = ""  # "figure" for numbers, "bad" / "good" for directions


Line = tuple[Fragment, ...]


@dataclass(frozen=True)
class Topic:
    title: str
    lines: tuple[Line, ...]
    note: str = ""


Key = tuple[Any, ...]  # (source, size, key_kind, python, workload, map, params)


def topics(
    shown: ResultSet,
    tables: Sequence[TimeTable],
    sections: Mapping[str, Section],
    failed: pd.DataFrame,
    failure_ids: Sequence[str],
    thresholds: Thresholds,
) -> tuple[Topic, ...]:
    """Every topic that has something to say, in the order a reader asks."""
    margins = _margins(shown.frame, tables, thresholds)
    found = [
        _fastest(tables, margins),
        _against_reference(tables, margins),
        _tails(shown.frame, sections.get("latency")),
        _memory(shown.frame, sections.get("memory")),
        _probes(shown.frame, sections.get(PROBES)),
        _failures(failed, failure_ids),
        _quality(tables, shown.environments),
    ]
    return tuple(t for t in found if t is not None and t.lines)


# --- margins: compare() between two maps of one column -------------------------------------


def _pairs(tables: Sequence[TimeTable]) -> list[tuple[Key, Key]]:
    """(base, candidate) cells to compare: fastest vs runner-up, and dict vs every other map."""
    out = []
    for t in tables:
        for p in t.pythons:
            for w in t.workloads:
                where = (t.source, _size(t.size), t.key_kind, p, w)
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


def _size(size: Any) -> int:
    """A size as an int, -1 when missing (NaN and None never equal themselves as keys)."""
    return -1 if size is None or pd.isna(size) else int(size)


def _margins(
    frame: pd.DataFrame, tables: Sequence[TimeTable], thresholds: Thresholds
) -> dict[tuple[Key, Key], dict[str, Any]]:
    """compare() of every pair in one call: each pair's cells relabelled as one case."""
    pairs = _pairs(tables)
    times = selection.latest_per_python(frame[frame["metric"] == "time"]).reset_index(drop=True)
    if not pairs or times.empty:
        return {}
    columns = ["source", "size", "key_kind", "python", "workload", "map", "params"]
    index = times.assign(size=times["size"].map(_size)).groupby(columns, sort=False).indices
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
    return {pairs[int(r["map"])]: r for r in _records(rows)}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], frame.to_dict("records"))


# --- topics --------------------------------------------------------------------------------


def _columns(tables: Sequence[TimeTable]) -> list[tuple[TimeTable, str]]:
    return [(t, p) for t in tables for p in t.pythons]


def _where(t: TimeTable, python: str, columns: Sequence[tuple[TimeTable, str]]) -> str:
    """What tells this column apart from the others: size, key kind, source, Python."""
    parts = []
    if len({_size(c.size) for c, _ in columns}) > 1 and _size(t.size) >= 0:
        parts.append(f"{int(t.size):,}")
    if len({c.key_kind for c, _ in columns}) > 1:
        parts.append(t.key_kind)
    if len({c.source for c, _ in columns}) > 1:
        parts.append(t.source)
    if len({p for _, p in columns}) > 1:
        parts.append(f"Python {python}")
    return " · ".join(p for p in parts if p)


def _fastest(tables: Sequence[TimeTable], margins: Mapping[Any, Any]) -> Topic | None:
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
    return _topic("Fastest map per workload", lines)


def _fastest_line(
    t: TimeTable,
    python: str,
    workload: str,
    ranked: Sequence[tuple[float, str, str]],
    margins: Mapping[Any, Any],
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
    key = (t.source, _size(t.size), t.key_kind, python, workload)
    row = margins.get(((*key, m, params), (*key, m2, params2)))
    parts += [Fragment("; next "), Fragment(t.label(m2, params2), "#" + t.row_id(m2, params2))]
    return (*parts, *_margin(row, "slower"))


def _margin(row: Mapping[str, Any] | None, word: str) -> list[Fragment]:
    """`+27% slower [+19%, +35%]`, or why no margin is claimed."""
    if row is None:
        return [Fragment(" (no margin: samples missing)")]
    change, interval = formatting.change_and_interval(row["ratio"], row["ci_low"], row["ci_high"])
    verdict = row["verdict"]
    if verdict == "no change":
        return [Fragment(f" {change}: a tie within the minimum effect")]
    parts = [Fragment(" "), Fragment(f"{change} {word}", css="figure")]
    if interval != formatting.MISSING:
        parts.append(Fragment(f" {interval}"))
    if verdict not in ("regression", "improvement"):
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


def _against_reference(tables: Sequence[TimeTable], margins: Mapping[Any, Any]) -> Topic | None:
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
                key = (t.source, _size(t.size), t.key_kind, p, w)
                row = margins.get(((*key, REFERENCE, refs[0] if refs else ""), (*key, m, params)))
                if row is not None:
                    outcome.setdefault(str(row["verdict"]), []).append((t, p, w, row))
        if outcome:
            lines.append(_versus_line(tables, m, params, outcome, columns))
    return _topic(f"Against {REFERENCE}", lines)


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
        ("improvement", "faster on ", "good"),
        ("regression", "slower on ", "bad"),
        ("no change", "within 5% on ", ""),
    )
    first = True
    for verdict, words, css in phrases:
        cases = outcome.get(verdict, [])
        if not cases:
            continue
        if verdict == "no change" and len(cases) > 3:  # ties say little one by one
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
            text = f"{w}{where}" + ("" if verdict == "no change" else f" {change}")
            parts += [Fragment(", " if i else ""), Fragment(text, "#" + t.row_id(m, params))]
        if len(cases) > len(shown):
            parts.append(Fragment(f" and {len(cases) - len(shown)} more"))
    unsure = sum(
        len(v) for k, v in outcome.items() if k not in ("improvement", "regression", "no change")
    )
    if unsure:
        parts.append(Fragment(f"{'' if first else '; '}not significant on {unsure}"))
    return tuple(parts)


def _distance(row: Mapping[str, Any]) -> float:
    r = float(row["ratio"])
    return abs(math.log(r)) if r > 0 and math.isfinite(r) else 0.0


def _latest(frame: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    wanted = set(metrics)
    return selection.latest_per_python(
        frame[selection.metric_mask(frame, lambda m: m in wanted or m.startswith(SPIKES))]
    )


def _wide(rows: pd.DataFrame) -> pd.DataFrame:
    """Case x Python rows, one column per metric (medians of repeated runs)."""
    keys = [*selection.ROW_COLUMNS, "python"]
    wide: pd.DataFrame = rows.pivot_table(
        index=keys, columns="metric", values="value", aggfunc="median"
    ).reset_index()
    return wide


def _case_text(row: Mapping[str, Any], several_pythons: bool) -> str:
    parts = [str(row["map"]), str(row["workload"])]
    if not pd.isna(row["size"]):
        parts.append(f"{int(row['size']):,}")
    if row["key_kind"]:
        parts.append(str(row["key_kind"]))
    text = " · ".join(parts) + (f" ({row['params']})" if row["params"] else "")
    return text + (f", Python {row['python']}" if several_pythons else "")


def _href(section: Section | None, row: Mapping[str, Any]) -> str:
    if section is None:
        return ""
    return (
        "#" + section.rows_by_case[case_key(row)] if case_key(row) in section.rows_by_case else ""
    )


def _tails(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    rows = _latest(frame, ("latency_p50", "latency_p999", "latency_max", "latency_spikes"))
    if rows.empty or "latency_p999" not in set(rows["metric"]):
        return None
    wide = _wide(rows).sort_values("latency_p999", ascending=False, kind="stable")
    several = wide["python"].nunique() > 1
    lines: list[Line] = []
    for row in _records(wide.head(3)):
        parts = [
            Fragment(_case_text(row, several), _href(section, row), "figure"),
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
    return _topic("Worst tail latency", lines, "The three highest p99.9 latencies.")


def _spike_fragments(row: Mapping[str, Any]) -> list[Fragment]:
    total = row.get("latency_spikes")
    if total is None or pd.isna(total):
        return []
    causes = [
        f"{names.title(k).removeprefix(names.title('latency_spikes')).strip(' :,-()') or k} "
        f"{row[k]:,.0f}"
        for k in sorted(row)
        if isinstance(k, str) and k.startswith(SPIKES) and not pd.isna(row[k]) and row[k]
    ]
    text = f", {total:,.0f} spike{'s' if total != 1 else ''}"
    return [Fragment(text + (f" ({', '.join(causes)})" if causes else ""))]


def _memory(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    for metric in ("memory_bytes_per_entry", "memory_traced_bytes_per_entry"):
        rows = selection.latest_per_python(frame[frame["metric"] == metric])
        if not rows.empty:
            break
    else:
        return None
    per_map = _wide(rows)
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
        unseen = [m for v, m, _ in entries if v < MEMORY_FLOOR]
        seen = [e for e in entries if e[0] >= MEMORY_FLOOR]
        if len(seen) < 2:
            continue
        (least, m, params), (most, m2, _) = seen[0], seen[-1]
        example = _records(part[(part["map"] == m) & (part["params"] == params)])[0]
        where = " · ".join(
            p
            for p in (
                f"{_size(size):,}" if _size(size) >= 0 else "",
                str(key_kind),
                f"Python {python}" if several else "",
            )
            if p
        )
        parts = [
            Fragment(f"{where}: " if several else ""),
            Fragment(m, _href(section, example), "figure"),
            Fragment(f" {formatting.value(least, 'B')} per entry"),
        ]
        reference = [v for v, name, _ in seen if name == REFERENCE]
        if reference and m != REFERENCE:
            parts.append(Fragment(f" ({REFERENCE} {formatting.value(reference[0], 'B')})"))
        parts.append(Fragment(f"; most: {m2} {formatting.value(most, 'B')}"))
        if unseen:
            parts.append(Fragment(
                f"; not counted: {', '.join(unseen)} (under {MEMORY_FLOOR:g} B per entry: "
                "memory the pass cannot see, such as mmap)"
            ))  # fmt: skip
        lines.append(tuple(parts))
    return _topic(f"Least memory ({names.title(metric)})", lines)


def _probes(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    metrics = ("load_factor", "probe_hit_mean", "probe_miss_mean", "capacity", HOMES)
    rows = selection.latest_per_python(frame[frame["metric"].isin(metrics)])
    if rows.empty or "probe_hit_mean" not in set(rows["metric"]):
        return None
    wide = _wide(rows)
    wide = wide[
        wide["probe_hit_mean"].notna() & wide["load_factor"].between(0, 1, inclusive="neither")
    ]
    if wide.empty:
        return None
    # per map, its most telling table: the largest size, lookups preferred (they change nothing)
    wide = wide.assign(
        _size=wide["size"].map(_size), _lookup=~wide["workload"].str.startswith("lookup")
    )
    chosen = wide.sort_values(["_size", "_lookup"], ascending=[False, True], kind="stable")
    chosen = chosen.drop_duplicates(["map", "params"])
    lines: list[Line] = []
    close: list[Fragment] = []
    buckets: list[Fragment] = []
    for row in _records(chosen):
        homes, capacity = row.get(HOMES), row.get("capacity")
        if homes is not None and capacity is not None and 0 < homes < capacity:
            buckets.append(
                Fragment(f"{row['map']} ({capacity / homes:g} slots)", _href(section, row))
            )
            continue
        load = float(row["load_factor"])
        hit, model = float(row["probe_hit_mean"]), theory.hit_mean(load)
        off = hit / model - 1
        link = Fragment(row["map"], _href(section, row), "figure")
        if abs(off) <= MODEL_CLOSE:
            close.append(link)
            continue
        where = _case_text(row, False).split(" · ", 1)[1]
        text = (f": {hit:.3g} probes per hit vs {model:.3g} modelled "
                f"({formatting.change(hit / model)}) at load {load:.2f}, {where}")  # fmt: skip
        lines.append((link, Fragment(text)))
    if close:
        lines.append((Fragment(f"Within {MODEL_CLOSE:.0%} of the model: "), *_joined(close)))
    if buckets:
        lines.append((Fragment("No slot model (a probe reads a bucket): "), *_joined(buckets)))
    return _topic("Probe lengths against uniform hashing (modelled, not measured)", lines)


def _joined(fragments: Sequence[Fragment]) -> list[Fragment]:
    out: list[Fragment] = []
    for i, f in enumerate(fragments):
        out += [Fragment(", ")] if i else []
        out.append(f)
    return out


def _failures(failed: pd.DataFrame, ids: Sequence[str]) -> Topic | None:
    """One line per failure, the same failure on several Pythons once (linked to the first)."""
    if failed.empty:
        return None
    merged: dict[tuple[Any, ...], tuple[str, list[str]]] = {}
    for row, row_id in zip(_records(failed), ids, strict=False):
        error = [x.strip() for x in str(row["error"]).splitlines() if x.strip()]
        case = _case_text(row, False)
        key = (case, row["status"], error[-1] if error else "")
        merged.setdefault(key, (row_id, []))[1].append(str(row["python"]))
    lines: list[Line] = []
    for (case, status, last), (row_id, pythons) in merged.items():
        on = f" (Python {', '.join(p for p in pythons if p)})" if any(pythons) else ""
        lines.append((
            Fragment(case + on, "#" + row_id, "figure bad"),
            Fragment(f" {status}" + (f": {last}" if last else "")),
        ))  # fmt: skip
    return _topic("Failures", lines)


def _quality(
    tables: Sequence[TimeTable], environments: Mapping[str, Mapping[str, Any]]
) -> Topic | None:
    cells = [s for t in tables for s in t.cells.values() if s.n]
    if not cells:
        return None
    unstable = [s for s in cells if s.unstable]
    loads = sorted(
        {tuple(e["load_average"]) for e in environments.values() if e.get("load_average")}
    )
    parts = [
        Fragment(f"{len(unstable)} of {len(cells)}", css="figure bad" if unstable else "figure"),
        Fragment(
            " time cells unstable (fewer than 5 samples, or an interquartile range over 10% of "
            "the median)"
        ),
    ]
    lines: list[Line] = [tuple(parts)]
    if loads:
        shown = "; ".join(", ".join(f"{x:g}" for x in load) for load in loads[:4])
        lines.append((Fragment(f"Load average (1, 5, 15 min) when recorded: {shown}"),))
    return _topic("Measurement quality", lines)


def _topic(title: str, lines: Sequence[Line], note: str = "") -> Topic:
    kept = tuple(lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        note = f"{MAX_LINES} of {len(lines)} shown; the rest are in the tables. {note}".strip()
    return Topic(title, kept, note)
