"""Per-topic tables of map x workload across Pythons: latency, GC, allocations, memory, probes.

Each topic is a few metrics side by side (one column group per Python when there are several),
from the latest commit of each Python. Rows whose every number is equal across workloads (memory
of a fresh map, the probe statistics of a table that lookups do not change) are shown once, with
the workloads listed together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from mapbench.reports import names, selection
from mapbench.reports.cells import Cell, Section, Table, num

from mapbench import formatting, theory
from mapbench.case import KEY_COLUMNS, key, size_key


@dataclass(frozen=True)
class Column:
    header: str
    metric: str
    modelled: str = ""  # "hit" or "miss": the uniform-hashing mean at the row's load factor
    with_unit: bool = False  # units differ between rows (slots, buckets, groups)


@dataclass(frozen=True)
class Theme:
    anchor: str
    title: str
    note: str
    columns: tuple[Column, ...]

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(c.metric for c in self.columns)


PROBES = "probe-table"  # the probe theme's anchor: drawn next to the histograms
THEMES = (
    Theme(
        "latency",
        "Latency per operation",
        "Each operation timed on its own, in a pass of its own with the GC on; the timer's "
        "overhead is included, so these describe the distribution's shape, not throughput. "
        "Spikes counts operations slower than "
        f"10{formatting.TIMES} the median.",
        (
            Column("p50", "latency_p50"),
            Column("p99", "latency_p99"),
            Column("p99.9", "latency_p999"),
            Column("max", "latency_max"),
            Column("spikes", "latency_spikes"),
        ),
    ),
    Theme(
        "spikes",
        "Latency spikes by cause",
        "What happened during each operation slower than "
        f"10{formatting.TIMES} the median: the table was resized or rebuilt (the same operations "
        "replayed, the table read before and after each spike), a GC collection ran, the thread "
        "was preempted (involuntary context switches) or took page faults. A spike may have "
        "several causes; other: none of these.",
        (
            Column("spikes", "latency_spikes"),
            Column("resize", "latency_spikes_resize"),
            Column("GC", "latency_spikes_gc"),
            Column("preempted", "latency_spikes_preempted"),
            Column("page faults", "latency_spikes_page_faults"),
            Column("other", "latency_spikes_unexplained"),
        ),
    ),
    Theme(
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
    ),
    Theme(
        "allocations-per-op",
        "Allocations per operation",
        "Allocation calls and the bytes they asked for, per operation, counted by memray with "
        "the GC paused: Python's allocator, and native code (malloc family and mmap, what a C "
        "map allocates). A run's first half minus its first quarter, so what a run allocates "
        "once cancels; "
        "exact, compared exactly.",
        (
            Column("Python calls", "alloc_python_calls_per_op"),
            Column("Python bytes", "alloc_python_bytes_per_op"),
            Column("native calls", "alloc_native_calls_per_op"),
            Column("native bytes", "alloc_native_bytes_per_op"),
        ),
    ),
    Theme(
        "allocations",
        "Allocations",
        "Net blocks: the change of sys.getallocatedblocks() over the workload. Traced: a "
        "separate pass under tracemalloc (Python's allocator: live blocks, net and peak bytes). "
        "Native: what native code allocated in a run and kept, and its peak (memray).",
        (
            Column("net blocks", "allocated_blocks_net"),
            Column("traced live blocks", "alloc_live_blocks"),
            Column("traced net", "alloc_net_bytes"),
            Column("traced peak", "alloc_peak_bytes"),
            Column("native net", "alloc_native_net_bytes"),
            Column("native peak", "alloc_native_peak_bytes"),
        ),
    ),
    Theme(
        "memory",
        "Memory per entry",
        "A fresh map filled with the case's keys (keys and values allocated beforehand). "
        "Traced: Python's allocator (tracemalloc); native: malloc family and anonymous mmap "
        "(memray); per entry: the two added; mapped: file-backed mappings; file: a persistent "
        "map's file.",
        (
            Column("per entry", "memory_bytes_per_entry"),
            Column("traced", "memory_traced_bytes_per_entry"),
            Column("traced peak", "memory_traced_peak_bytes_per_entry"),
            Column("native", "memory_native_bytes_per_entry"),
            Column("mapped", "memory_file_mapped_bytes_per_entry"),
            Column("file", "memory_file_bytes_per_entry"),
        ),
    ),
    Theme(
        PROBES,
        "Probe lengths",
        "Exact counts over the table after the workload: hits over every stored key, misses "
        "from every home position. Columns marked modelled are not measured: the uniform-"
        "hashing (Knuth) expectation at the same load factor, (1/a)·ln(1/(1-a)) for hits and "
        "1/(1-a) for misses, not given where probes count buckets or groups.",
        (
            Column("load", "load_factor"),
            Column("hit mean", "probe_hit_mean"),
            Column("modelled", "load_factor", modelled="hit"),
            Column("hit max", "probe_hit_max"),
            Column("miss mean", "probe_miss_mean"),
            Column("modelled", "load_factor", modelled="miss"),
            Column("miss max", "probe_miss_max"),
            Column("tombstones", "tombstones"),
            Column("capacity", "capacity", with_unit=True),
        ),
    ),
)
# Probe statistics a table shows beside its capacity: the homes a probe reads (buckets, groups).
HOMES = "probe_homes"
_MODEL = {"hit": theory.hit_mean, "miss": theory.miss_mean}


def themed(metric: str) -> bool:
    """Whether a theme table shows this metric."""
    return metric == HOMES or any(metric in t.metrics for t in THEMES)


def theme_sections(
    frame: pd.DataFrame, extra_notes: Mapping[str, str]
) -> tuple[list[Section], list[str]]:
    """One table per theme with any non-zero number, and a line for each theme of only zeros.

    `extra_notes` add to a theme's note by anchor.
    """
    rows = selection.latest_per_python(frame[selection.metric_mask(frame, themed)])
    sections, quiet = [], []
    for theme in THEMES:
        part = rows[rows["metric"].isin(theme.metrics)]
        if part.empty:
            continue
        if not (part["value"].fillna(0) != 0).any():
            quiet.append(f"{theme.title}: every number is 0 in every case shown.")
            continue
        if theme.anchor == PROBES:  # the homes qualify capacity and the model; not a column
            part = pd.concat([part, rows[rows["metric"] == HOMES]])
        sections.append(section_of(theme, part, extra_notes.get(theme.anchor, "")))
    return sections, quiet


def section_of(theme: Theme, part: pd.DataFrame, extra_note: str = "") -> Section:
    """The section of one theme from its rows (latest commit per Python already chosen)."""
    table, same, by_case = _theme_table(theme, part)
    notes = [theme.note, selection.constant_note(part), same, extra_note]
    return Section(theme.title, theme.anchor, selection.sentences(notes), table, by_case)


def _theme_table(theme: Theme, part: pd.DataFrame) -> tuple[Table, str, dict[Any, str]]:
    """The table, a note when every Python gave identical numbers (then shown once), and the
    row id of every case."""
    keys = list(KEY_COLUMNS)
    grouped = part.groupby([*keys, "python", "metric"], dropna=False, sort=False)
    values = grouped["value"].median().unstack(["python", "metric"])
    units = grouped["unit"].first().unstack(["python", "metric"])
    names_ = selection.pythons(part)
    columns = theme.columns
    present = [c for c in columns if any((p, _source(c)) in values.columns for p in names_)]
    lead = _lead_columns(part)
    order = _row_order(part, values.index)
    cells_of: list[tuple[dict[str, Any], list[Cell]]] = []
    for position in order:
        case = dict(zip(keys, cast(tuple[Any, ...], values.index[position]), strict=True))
        row_values = values.iloc[position]
        row_units = units.iloc[position]
        cells_of.append(
            (case, [_cell(c, p, row_values, row_units) for p in names_ for c in present])
        )
    same = ""
    if len(names_) > 1 and all(_identical_groups(cells, len(present)) for _, cells in cells_of):
        same = f"Identical on Python {', '.join(names_)}"
        names_ = names_[:1]
        cells_of = [(case, cells[: len(present)]) for case, cells in cells_of]
    merged = _merge_equal(cells_of)
    ids = [_row_id(theme, case, workloads) for case, workloads, _ in merged]
    by_case = {
        key({**case, "workload": w}): row_id
        for (case, workloads, _), row_id in zip(merged, ids, strict=True)
        for w in workloads
    }
    rows = [
        tuple(_lead_cells(case, workloads, lead)) + tuple(cells)
        for case, workloads, cells in merged
    ]
    headers = (*(h for h, _ in lead), *(c.header for _ in names_ for c in present))
    titles = (*("" for _ in lead), *(_column_title(c, part) for _ in names_ for c in present))
    numeric = (*(n for _, n in lead), *(True for _ in names_ for c in present))
    starts = selection.group_starts(len(lead), names_, len(present)) or ("",) * len(headers)
    kinds = (
        *("" for _ in lead),
        *("modelled" if c.modelled else "" for _ in names_ for c in present),
    )
    column_css = tuple(" ".join(filter(None, pair)) for pair in zip(kinds, starts, strict=True))
    groups = selection.python_groups(len(lead), names_, len(present))
    table = Table(
        headers, tuple(rows), numeric, groups, column_css, row_ids=tuple(ids), header_titles=titles
    )
    return table, same, by_case


def _row_id(theme: Theme, case: Mapping[str, Any], workloads: Sequence[str]) -> str:
    size = "" if pd.isna(case["size"]) else str(int(case["size"]))
    parts = (case["map"], workloads[0], size, case["key_kind"], case["params"])
    return selection.anchor(theme.anchor, "row " + " ".join(str(p) for p in parts))


def _column_title(column: Column, part: pd.DataFrame) -> str:
    """Hover text of a header: the metric's title and unit from the catalog."""
    if column.modelled:
        return f"modelled, not measured: uniform hashing's mean probes per {column.modelled}"
    units = part.loc[part["metric"] == column.metric, "unit"]
    return names.heading(column.metric, str(units.iloc[0]) if len(units) else "")


def _identical_groups(cells: Sequence[Cell], per_python: int) -> bool:
    """True when each Python's run of cells in a row is the same."""
    groups = [tuple(cells[i : i + per_python]) for i in range(0, len(cells), per_python)]
    return len(set(groups)) == 1


def _source(column: Column) -> str:
    """The measured metric a column needs: a modelled mean is only shown beside the measured one."""
    return f"probe_{column.modelled}_mean" if column.modelled else column.metric


def _lead_columns(part: pd.DataFrame) -> list[tuple[str, bool]]:
    """map and workload always; size, key kind and params only where they tell rows apart."""
    lead = [("map", False), ("workload", False)]
    shown = selection.varying(part, ["size", "key_kind"])
    lead += [(c.replace("_", " "), c == "size") for c in shown]
    if selection.params_needed(part):
        lead.append(("params", False))
    return lead


def _row_order(part: pd.DataFrame, index: pd.Index[Any]) -> list[int]:
    """Rows by map and workload in the order they were run, then size, then key kind."""
    maps, workloads = selection.first_seen(part["map"]), selection.first_seen(part["workload"])
    keys = selection.first_seen(part["key_kind"])

    def order(i: int) -> tuple[Any, ...]:
        m, w, size, k, params = index[i]
        return (maps[m], size_key(size), keys[k], workloads[w], str(params))

    return sorted(range(len(index)), key=order)


def _cell(column: Column, python: str, values: pd.Series[Any], units: pd.Series[Any]) -> Cell:
    value = values.get((python, column.metric), np.nan)
    unit = str(units.get((python, column.metric)) or "")
    slots = _slots_per_home(values, python)
    if column.modelled:
        if pd.isna(value) or slots != 1 or not 0 < value < 1:
            return Cell(formatting.MISSING)
        modelled = _MODEL[column.modelled](float(value))
        return Cell(f"{modelled:.3g}", num(modelled), title="modelled, not measured")
    text = formatting.compact(float(value), unit)
    if column.with_unit and unit and not pd.isna(value):
        text = f"{text} {unit}"
        if slots > 1:
            homes = values.get((python, HOMES))
            return Cell(
                text,
                num(value),
                sub=(f"{homes:,.0f} buckets of {slots:g}",),
                title="a probe reads one bucket of slots (a Go bucket, a Swiss group)",
            )
    return Cell(text, num(value))


def _slots_per_home(values: pd.Series[Any], python: str) -> float:
    """Slots a probe reads at once: 1 for slot probing, the bucket (group) size where the map
    reports fewer homes than slots."""
    homes, capacity = values.get((python, HOMES)), values.get((python, "capacity"))
    if homes is None or capacity is None or pd.isna(homes) or pd.isna(capacity) or not homes > 0:
        return 1.0
    return float(capacity / homes) if capacity > homes else 1.0


def _merge_equal(
    rows: Sequence[tuple[dict[str, Any], list[Cell]]],
) -> list[tuple[dict[str, Any], list[str], list[Cell]]]:
    """Rows of one map, size and key kind whose numbers are all equal become one row."""
    merged: dict[tuple[Any, ...], tuple[dict[str, Any], list[str], list[Cell]]] = {}
    for case, cells in rows:
        same = (case["map"], str(case["size"]), case["key_kind"], case["params"],
                tuple((c.text, c.sort) for c in cells))  # fmt: skip
        if same in merged:
            merged[same][1].append(str(case["workload"]))
        else:
            merged[same] = (case, [str(case["workload"])], cells)
    return list(merged.values())


def _lead_cells(
    case: Mapping[str, Any], workloads: Sequence[str], lead: Sequence[tuple[str, bool]]
) -> Iterable[Cell]:
    shown = {h for h, _ in lead}
    yield Cell(str(case["map"]))
    merged = len(workloads) > 1
    yield Cell(
        ", ".join(workloads),
        css="wrap" if merged else "",
        title="identical numbers" if merged else "",
    )
    if "size" in shown:
        size = case["size"]
        yield Cell("" if pd.isna(size) else f"{int(size):,}", num(size))
    if "key kind" in shown:
        yield Cell(str(case["key_kind"]))
    if "params" in shown:
        yield Cell(str(case["params"]))
