"""Probe lengths: the table against uniform hashing, the histograms, and the finding.

Probe lengths are exact counts over the table after the workload: hits over every stored key,
misses from every home position. The modelled columns and curves are not measured: the uniform-
hashing (Knuth) expectation at the same load factor, only where a probe reads one slot.

Histograms: one figure per map (hits and misses side by side), the rest tucked away. The
featured case of a map is the one that says most: a lookup-hit table (else insert, ...) at the
largest size. Identical histograms (the same table after insert, lookup-hit and lookup-miss, or
on several Pythons) are drawn once with every case they stand for. Tables with no entries (after
delete) have no hit distribution and a meaningless model, so they are not drawn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from mapbench.reports import charts
from mapbench.reports.findings import (
    Fragment,
    Line,
    Topic,
    case_line,
    href,
    joined,
    metric_columns,
    records,
    topic,
)
from mapbench.reports.rows import first_seen, latest_per_python, version_key
from mapbench.reports.tables import (
    Cell,
    CellMaker,
    Column,
    Section,
    TopicTable,
    anchor,
    num,
)

from mapbench import formatting, theory
from mapbench.case import KEY_COLUMNS, size_key

PROBES = "probe-table"  # the probe table's anchor: drawn next to the histograms
# Probe statistics a table shows beside its capacity: the homes a probe reads (buckets, groups).
HOMES = "probe_homes"
# The metrics of probe-length histograms (asv's and other tools' names included).
HISTOGRAM = re.compile(r"probe.*(?:hit|miss).*hist")
MODEL_CLOSE = 0.02  # measured probe means within 2% of the model are "as modelled"
MAX_MORE = 48  # figures behind "more cases"
CHART_HEIGHT = 190  # shorter than other charts: a map's pair of histograms fits one row
# The workload whose table shows a map best: lookups run on the full table and change nothing.
WORKLOAD_PREFERENCE = ("lookup-hit", "lookup_hit", "insert", "lookup-miss", "lookup_miss")
_MODEL = {"hit": theory.hit_mean, "miss": theory.miss_mean}


def _slots_per_home(values: pd.Series[Any], python: str) -> float:
    """Slots a probe reads at once: 1 for slot probing, the bucket (group) size where the map
    reports fewer homes than slots."""
    homes, capacity = values.get((python, HOMES)), values.get((python, "capacity"))
    if homes is None or capacity is None or pd.isna(homes) or pd.isna(capacity) or not homes > 0:
        return 1.0
    return float(capacity / homes) if capacity > homes else 1.0


def _modelled(kind: str) -> CellMaker:
    """The uniform-hashing mean probes per hit or miss at the row's load factor."""

    def cell(column: Column, python: str, values: pd.Series[Any], units: pd.Series[Any]) -> Cell:
        value = values.get((python, column.metric), np.nan)
        if pd.isna(value) or _slots_per_home(values, python) != 1 or not 0 < value < 1:
            return Cell(formatting.MISSING)
        modelled = _MODEL[kind](float(value))
        return Cell(f"{modelled:.3g}", num(modelled), title="modelled, not measured")

    return cell


def _capacity(column: Column, python: str, values: pd.Series[Any], units: pd.Series[Any]) -> Cell:
    """Capacity in its unit (slots, buckets, groups), with the buckets a probe reads."""
    value = values.get((python, column.metric), np.nan)
    unit = str(units.get((python, column.metric)) or "")
    text = formatting.compact(float(value), unit)
    if unit and not pd.isna(value):
        text = f"{text} {unit}"
        if (slots := _slots_per_home(values, python)) > 1:
            homes = values.get((python, HOMES))
            return Cell(
                text,
                num(value),
                sub=(f"{homes:,.0f} buckets of {slots:g}",),
                title="a probe reads one bucket of slots (a Go bucket, a Swiss group)",
            )
    return Cell(text, num(value))


def _modelled_column(kind: str) -> Column:
    return Column(
        "modelled",
        "load_factor",
        needs=f"probe_{kind}_mean",  # a modelled mean is only shown beside the measured one
        css="modelled",
        title=f"modelled, not measured: uniform hashing's mean probes per {kind}",
        cell=_modelled(kind),
    )


TABLE = TopicTable(
    PROBES,
    "Probe lengths",
    "Exact counts over the table after the workload: hits over every stored key, misses "
    "from every home position. Columns marked modelled are not measured: the uniform-"
    "hashing (Knuth) expectation at the same load factor, (1/a)·ln(1/(1-a)) for hits and "
    "1/(1-a) for misses, not given where probes count buckets or groups.",
    (
        Column("load", "load_factor"),
        Column("hit mean", "probe_hit_mean"),
        _modelled_column("hit"),
        Column("hit max", "probe_hit_max"),
        Column("miss mean", "probe_miss_mean"),
        _modelled_column("miss"),
        Column("miss max", "probe_miss_max"),
        Column("tombstones", "tombstones"),
        Column("capacity", "capacity", cell=_capacity),
    ),
    reads=frozenset({HOMES}),
)


@dataclass(frozen=True)
class ProbeFigure:
    title: str
    subtitle: str
    stats: str
    hit: charts.Chart | None
    miss: charts.Chart | None
    anchor: str


@dataclass(frozen=True)
class ProbeView:
    featured: tuple[ProbeFigure, ...] = ()
    more: tuple[ProbeFigure, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class _Table:
    """One measured table: its case, where it was measured, and both histograms."""

    case: dict[str, Any]
    python: str
    load: float | None
    slots_per_home: float  # 1 for slot probing; a bucket's (group's) slots where probes read those
    hit: tuple[float, ...]
    miss: tuple[float, ...]


def probe_view(frame: pd.DataFrame) -> ProbeView:
    """Featured figures (one per map) and the other distinct tables."""
    tables = _tables(frame)
    empty = [t for t in tables if not _has_entries(t)]
    distinct = _distinct([t for t in tables if _has_entries(t)])
    if not distinct:
        return ProbeView()
    maps = first_seen(pd.Series([g[0].case["map"] for g in distinct]))
    workloads = first_seen(pd.Series([t.case["workload"] for t in tables]))
    featured: dict[str, list[_Table]] = {}
    for group in sorted(distinct, key=lambda g: _interest(g, workloads)):
        featured.setdefault(str(group[0].case["map"]), group)
    chosen = sorted(featured.values(), key=lambda g: maps[g[0].case["map"]])
    rest = [g for g in distinct if all(g is not c for c in chosen)]
    rest.sort(key=lambda g: (maps[g[0].case["map"]], _interest(g, workloads)))
    with_params = len({(g[0].case["map"], g[0].case["params"]) for g in distinct}) > len(maps)
    notes = []
    if empty:
        notes.append(f"{len(empty)} tables with no entries (e.g. after delete) are not drawn.")
    if len(rest) > MAX_MORE:
        notes.append(f"{MAX_MORE} of {len(rest)} other tables shown.")
    return ProbeView(
        featured=tuple(_figure(g, with_params) for g in chosen),
        more=tuple(_figure(g, with_params) for g in rest[:MAX_MORE]),
        note=" ".join(notes),
    )


def _tables(frame: pd.DataFrame) -> list[_Table]:
    """Every (file, case) with a probe histogram, hit and miss paired, with its load factor."""
    ok = frame[frame["status"] == "ok"]
    rows = ok[ok["metric"].str.contains(HISTOGRAM) & (ok["n_samples"] > 0)]
    if rows.empty:
        return []
    keys = ["file", *KEY_COLUMNS]

    def per_case(metric: str) -> pd.Series[Any]:
        values: pd.Series[Any] = (
            ok[ok["metric"] == metric].drop_duplicates(keys).set_index(keys)["value"]
        )
        return values

    loads, homes, capacities = per_case("load_factor"), per_case(HOMES), per_case("capacity")
    out = []
    for key, group in rows.groupby(keys, dropna=False, sort=False):
        case = dict(zip(keys, cast(tuple[Any, ...], key), strict=True))
        hit = group[group["metric"].str.contains("hit")]
        miss = group[group["metric"].str.contains("miss")]
        load = loads.get(key)
        home, capacity = homes.get(key), capacities.get(key)
        slots = 1.0
        if home is not None and capacity is not None and 0 < home < capacity:
            slots = float(capacity / home)
        out.append(
            _Table(
                case={c: case[c] for c in KEY_COLUMNS},
                python=str(group["python"].iloc[0]),
                load=None if load is None or pd.isna(load) else float(load),
                slots_per_home=slots,
                hit=tuple(hit["samples"].iloc[0]) if len(hit) else (),
                miss=tuple(miss["samples"].iloc[0]) if len(miss) else (),
            )
        )
    return out


def _has_entries(t: _Table) -> bool:
    return sum(t.hit) > 0 and (t.load is None or t.load > 0)


def _distinct(tables: Sequence[_Table]) -> list[list[_Table]]:
    """Tables of one map with identical histograms, grouped (first seen first)."""
    groups: dict[tuple[Any, ...], list[_Table]] = {}
    for t in tables:
        same = (t.case["map"], t.case["params"], t.slots_per_home, t.load, t.hit, t.miss)
        groups.setdefault(same, []).append(t)
    return list(groups.values())


def _interest(group: Sequence[_Table], workloads: dict[Any, int]) -> tuple[Any, ...]:
    """Sort key, most telling first: largest size, then the preferred workload."""
    size = max(size_key(t.case["size"]) for t in group)
    preference = min(_preference(str(t.case["workload"]), workloads) for t in group)
    return (-size, preference)


def _preference(workload: str, workloads: dict[Any, int]) -> tuple[int, int]:
    if workload in WORKLOAD_PREFERENCE:
        return (0, WORKLOAD_PREFERENCE.index(workload))
    return (1, workloads.get(workload, 0))


def _figure(group: Sequence[_Table], with_params: bool) -> ProbeFigure:
    first = group[0]
    pythons = sorted({t.python for t in group}, key=version_key)
    modelled = first.load is not None and 0 < first.load < 1 and first.slots_per_home == 1
    if first.load is not None and modelled:
        model = f"modelled, uniform hashing at load {first.load:.2f}"
    elif first.load is None:
        model = "no model: no load factor recorded"
    else:
        model = (
            f"no model: a probe reads a bucket of {first.slots_per_home:g} slots, the "
            "uniform-hashing model counts slots"
        )
    title = str(first.case["map"])
    if with_params and first.case["params"]:
        title += f" ({first.case['params']})"
    cases = _cases_text(group)
    return ProbeFigure(
        title=title,
        subtitle=f"{cases} · Python {', '.join(pythons)}",
        stats=_stats(first, modelled) + ("" if modelled else f" · {model}"),
        hit=_chart("hits", first.hit, first.load if modelled else None, model, miss=False),
        miss=_chart("misses", first.miss, first.load if modelled else None, model, miss=True),
        anchor=anchor("probes", f"{title} {cases}"),
    )


def _cases_text(group: Sequence[_Table]) -> str:
    """`after insert, lookup-hit (identical) · size 1,000 · random-int keys`, per size and key."""
    by_where: dict[tuple[str, str], list[str]] = {}
    for t in group:
        size = "" if pd.isna(t.case["size"]) else f"size {int(t.case['size']):,}"
        kind = f"{t.case['key_kind']} keys" if t.case["key_kind"] else ""
        workloads = by_where.setdefault((size, kind), [])
        if t.case["workload"] not in workloads:
            workloads.append(str(t.case["workload"]))
    parts = []
    for (size, kind), workloads in by_where.items():
        after = "after " + ", ".join(workloads) + (" (identical)" if len(workloads) > 1 else "")
        parts.append(" · ".join(p for p in (after, size, kind) if p))
    return "; ".join(parts)


def _stats(t: _Table, modelled: bool) -> str:
    parts = [f"load {t.load:.3f}" if t.load is not None else "load not recorded"]
    for name, counts, model in (
        ("hit", t.hit, theory.hit_mean),
        ("miss", t.miss, theory.miss_mean),
    ):
        lengths = [k for k, c in enumerate(counts) if c]
        if len(lengths) == 1:  # one bar: no chart, the sentence says it all
            parts.append(f"every {name} took {lengths[0]} probe{'s' if lengths[0] != 1 else ''}")
        elif lengths:
            mean = sum(k * c for k, c in enumerate(counts)) / sum(counts)
            text = f"{name} mean {mean:.3g} probes"
            if modelled and t.load is not None:
                text += f" (modelled {model(t.load):.3g})"
            parts.append(text)
    return " · ".join(parts)


def _chart(
    title: str, counts: Sequence[float], load: float | None, label: str, miss: bool
) -> charts.Chart | None:
    """A histogram, or None when it would be empty or a single bar (the stats line says it)."""
    if sum(1 for c in counts if c) < 2:
        return None
    modelled = None
    if load is not None:
        probabilities = theory.miss_probabilities if miss else theory.hit_probabilities
        modelled = [p * sum(counts) for p in probabilities(load, len(counts) - 1)]
    return charts.histogram_chart(
        title=title,
        subtitle=f"{sum(counts):,.0f} {'home positions' if miss else 'stored keys'}, measured",
        counts=counts,
        modelled=modelled,
        model_label=label,
        x_label="probes",
        height=CHART_HEIGHT,
    )


def probe_finding(frame: pd.DataFrame, section: Section | None) -> Topic | None:
    metrics = ("load_factor", "probe_hit_mean", "probe_miss_mean", "capacity", HOMES)
    rows = latest_per_python(frame[frame["metric"].isin(metrics)])
    if rows.empty or not {"probe_hit_mean", "load_factor"} <= set(rows["metric"]):
        return None  # asv's track_ probes come without the load factor they need
    wide = metric_columns(rows)
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
                Fragment(f"{row['map']} ({capacity / homes:g} slots)", href(section, row))
            )
            continue
        load = float(row["load_factor"])
        hit, model = float(row["probe_hit_mean"]), theory.hit_mean(load)
        off = hit / model - 1
        link = Fragment(row["map"], href(section, row), "figure")
        if abs(off) <= MODEL_CLOSE:
            close.append(link)
            continue
        where = case_line(row, False).split(" · ", 1)[1]
        text = (f": {hit:.3g} probes per hit vs {model:.3g} modelled "
                f"({formatting.change(hit / model)}) at load {load:.2f}, {where}")  # fmt: skip
        lines.append((link, Fragment(text)))
    if close:
        lines.append((Fragment(f"Within {MODEL_CLOSE:.0%} of the model: "), *joined(close)))
    if buckets:
        lines.append((Fragment("No slot model (a probe reads a bucket): "), *joined(buckets)))
    return topic("Probe lengths against uniform hashing (modelled, not measured)", lines)
