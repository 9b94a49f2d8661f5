"""What a run found, first: fastest maps, wins and losses against dict, tails, memory, probes.

Every finding is a line of text fragments, the numbers among them linking to the table row
they come from (`reports.fragments`); the time findings are in `reports.timefindings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from mapbench.reports import names, selection
from mapbench.reports.cells import Section
from mapbench.reports.fragments import MAX_LINES, Fragment, Line, Topic, records, topic
from mapbench.reports.themes import HOMES, PROBES
from mapbench.reports.timefindings import time_topics
from mapbench.reports.timetable import REFERENCE, TimeTable

from mapbench import formatting, theory
from mapbench.case import KEY_COLUMNS, key, size_key
from mapbench.results import ResultSet
from mapbench.thresholds import Thresholds

MODEL_CLOSE = 0.02  # measured probe means within 2% of the model are "as modelled"
SPIKES = "latency_spikes_"  # latency_spikes_<cause>: spikes by recorded cause


def topics(
    shown: ResultSet,
    tables: Sequence[TimeTable],
    sections: Mapping[str, Section],
    failed: pd.DataFrame,
    failure_ids: Sequence[str],
    thresholds: Thresholds,
) -> tuple[Topic, ...]:
    """Every topic that has something to say, in the order a reader asks."""
    found = [
        *time_topics(shown.frame, tables, thresholds),
        _tails(shown.frame, sections.get("latency")),
        _memory(shown.frame, sections.get("memory")),
        _probes(shown.frame, sections.get(PROBES)),
        _failures(failed, failure_ids),
        _quality(tables, shown.environments),
    ]
    return tuple(t for t in found if t is not None and t.lines)


def _latest(frame: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    wanted = set(metrics)
    return selection.latest_per_python(
        frame[selection.metric_mask(frame, lambda m: m in wanted or m.startswith(SPIKES))]
    )


def _wide(rows: pd.DataFrame) -> pd.DataFrame:
    """Case x Python rows, one column per metric (medians of repeated runs)."""
    keys = [*KEY_COLUMNS, "python"]
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
    return "#" + section.rows_by_case[key(row)] if key(row) in section.rows_by_case else ""


def _tails(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    rows = _latest(frame, ("latency_p50", "latency_p999", "latency_max", "latency_spikes"))
    if rows.empty or "latency_p999" not in set(rows["metric"]):
        return None
    wide = _wide(rows).sort_values("latency_p999", ascending=False, kind="stable")
    several = wide["python"].nunique() > 1
    lines: list[Line] = []
    for row in records(wide.head(3)):
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
    return topic("Worst tail latency", lines, "The three highest p99.9 latencies.")


def _spike_fragments(row: Mapping[str, Any]) -> list[Fragment]:
    total = row.get("latency_spikes")
    if total is None or pd.isna(total):
        return []
    causes = [  # the cause is the metric's suffix: latency_spikes_page_faults -> page faults
        f"{k.removeprefix(SPIKES).replace('_', ' ')} {row[k]:,.0f}"
        for k in sorted(row)
        if isinstance(k, str) and k.startswith(SPIKES) and not pd.isna(row[k]) and row[k]
    ]
    text = f", {total:,.0f} spike{'s' if total != 1 else ''}"
    return [Fragment(text + (f" ({', '.join(causes)})" if causes else ""))]


def _memory(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    for metric in ("memory_bytes_per_entry", "memory_traced_bytes_per_entry"):
        rows = selection.latest_per_python(selection.memory_rows(frame, metric))
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
        seen = entries
        if len(seen) < 2:
            continue
        (least, m, params), (most, m2, _) = seen[0], seen[-1]
        example = records(part[(part["map"] == m) & (part["params"] == params)])[0]
        where = " · ".join(
            p
            for p in (
                f"{size_key(size):,}" if size_key(size) >= 0 else "",
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
        lines.append(tuple(parts))
    mapped = " with file mappings" if selection.MAPPED in set(frame["metric"]) else ""
    return topic(f"Least memory ({names.title(metric)}{mapped})", lines)


def _probes(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    metrics = ("load_factor", "probe_hit_mean", "probe_miss_mean", "capacity", HOMES)
    rows = selection.latest_per_python(frame[frame["metric"].isin(metrics)])
    if rows.empty or not {"probe_hit_mean", "load_factor"} <= set(rows["metric"]):
        return None  # asv's track_ probes come without the load factor they need
    wide = _wide(rows)
    wide = wide[
        wide["probe_hit_mean"].notna() & wide["load_factor"].between(0, 1, inclusive="neither")
    ]
    if wide.empty:
        return None
    # per map, its most telling table: the largest size, lookups preferred (they change nothing)
    wide = wide.assign(
        _size=wide["size"].map(size_key), _lookup=~wide["workload"].str.startswith("lookup")
    )
    chosen = wide.sort_values(["_size", "_lookup"], ascending=[False, True], kind="stable")
    chosen = chosen.drop_duplicates(["map", "params"])
    lines: list[Line] = []
    close: list[Fragment] = []
    buckets: list[Fragment] = []
    for row in records(chosen):
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
    return topic("Probe lengths against uniform hashing (modelled, not measured)", lines)


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
    for row, row_id in zip(records(failed), ids, strict=False):
        error = [x.strip() for x in str(row["error"]).splitlines() if x.strip()]
        case = _case_text(row, False)
        same = (case, row["status"], error[-1] if error else "")
        merged.setdefault(same, (row_id, []))[1].append(str(row["python"]))
    lines: list[Line] = []
    for (case, status, last), (row_id, pythons) in merged.items():
        on = f" (Python {', '.join(p for p in pythons if p)})" if any(pythons) else ""
        lines.append((
            Fragment(case + on, "#" + row_id, "figure bad"),
            Fragment(f" {status}" + (f": {last}" if last else "")),
        ))  # fmt: skip
    return topic("Failures", lines)


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
