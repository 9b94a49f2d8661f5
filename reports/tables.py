"""Tables as the templates draw them, and the map x workload table every topic shows.

A topic (latency, allocations, memory, probes, ...) describes its table as a `TopicTable`:
a few metrics side by side, one column group per Python when there are several, from the latest
commit of each Python. Rows whose every number is equal across workloads (memory of a fresh map,
the probe statistics of a table that lookups do not change) are shown once, with the workloads
listed together. Cells hold text already formatted; sort keys are separate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from mapbench.reports.rows import first_seen, latest_per_python, metric_mask, pythons

from mapbench import catalog, formatting
from mapbench.case import KEY_COLUMNS, key, size_key


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str = ""  # the value a column sorts by, when it is not the text
    css: str = ""
    sub: tuple[str, ...] = ()  # smaller lines below the text (e.g. the median, the ratio to dict)
    title: str = ""  # hover text


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: tuple[bool, ...]  # right-aligned, sorted as numbers
    groups: tuple[tuple[str, int], ...] = ()  # a header row above: (label, columns spanned)
    column_css: tuple[str, ...] = ()  # per column, header and cells: "modelled", "start"
    row_ids: tuple[str, ...] = ()  # an id per row, the target of links from the findings
    header_titles: tuple[str, ...] = ()  # hover text per column: what the column is, its unit
    footer: tuple[tuple[Cell, ...], ...] = ()  # summary rows below the body, never sorted
    sortable: bool = True


def num(value: Any) -> str:
    """A number as a sort key (12 digits: the same on every platform); "" for a missing one
    (sorted last)."""
    return "" if value is None or pd.isna(value) else f"{float(value):.12g}"


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    note: str
    table: Table
    # a case's key (`mapbench.case.key`) -> the id of the row showing that case
    rows_by_case: Mapping[tuple[Any, ...], str] = field(default_factory=dict)


def case_text(row: Mapping[Any, Any]) -> str:
    """`sharded · lookup-hit · 10,000 · random-int (shards=8)`; empty parts left out."""
    parts = []
    for c in ("map", "workload", "size", "key_kind"):
        value = row.get(c)
        if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
            continue
        parts.append(f"{int(value):,}" if c == "size" else str(value))
    text = " · ".join(parts) or str(row.get("benchmark", ""))
    return f"{text} ({row['params']})" if row.get("params") else text


def varying(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns with more than one value (the rest go in the table's note)."""
    return [c for c in columns if frame[c].nunique(dropna=False) > 1]


def params_needed(frame: pd.DataFrame) -> bool:
    """True when params tell rows apart that map, workload, size and key kind do not."""
    per_case = frame.groupby(["map", "workload", "size", "key_kind"], dropna=False)["params"]
    return bool((per_case.nunique() > 1).any())


def constant_note(frame: pd.DataFrame) -> str:
    """`Every row: size 1,000, random-int keys` for what is the same in every row."""
    parts = []
    if frame["size"].nunique(dropna=False) == 1 and not pd.isna(frame["size"].iloc[0]):
        parts.append(f"size {int(frame['size'].iloc[0]):,}")
    if frame["key_kind"].nunique() == 1 and frame["key_kind"].iloc[0]:
        parts.append(f"{frame['key_kind'].iloc[0]} keys")
    if frame["params"].nunique() == 1 and frame["params"].iloc[0]:
        parts.append(str(frame["params"].iloc[0]))  # e.g. value_kind=record: what was stored
    return f"Every row: {', '.join(parts)}" if parts else ""


def group_starts(lead: int, names: Sequence[str], per_python: int) -> tuple[str, ...]:
    """Column classes marking where each Python's group begins (a rule is drawn there)."""
    if len(names) < 2:
        return ()
    return ("",) * lead + (("start",) + ("",) * (per_python - 1)) * len(names)


def python_groups(lead: int, names: Sequence[str], per_python: int) -> tuple[tuple[str, int], ...]:
    """The header row above the columns: one group per Python, when there are several."""
    if len(names) < 2:
        return ()
    return (("", lead), *((f"Python {p}", per_python) for p in names))


def sentences(parts: Iterable[str]) -> str:
    """Non-empty parts as one note, each a sentence: capital first, full stop last."""
    return " ".join(p[0].upper() + p[1:] + ("" if p.endswith(".") else ".") for p in parts if p)


def anchor(prefix: str, text: str) -> str:
    """An id for links: `time-size-1-000-random-int-keys`."""
    return prefix + "-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def where(size: Any, key_kind: str, python: str, several_pythons: bool) -> str:
    """`size 1,000 · random-int keys · Python 3.12`: what a chart of one slice shows."""
    parts = [
        f"size {int(size):,}" if not pd.isna(size) else "",
        f"{key_kind} keys" if key_kind else "",
    ]
    if several_pythons:
        parts.append(f"Python {python}")
    return " · ".join(p for p in parts if p)


def map_label(name: str, params: str) -> str:
    """`sharded (shards=8)`: a map with its parameters, when it has any."""
    return f"{name} ({params})" if params else name


# Units as a heading spells them out (a bare "s" or "B" reads as a letter).
_UNIT_WORDS = {"s": "seconds", "B": "bytes", "ratio": "", "": ""}


def metric_title(metric: str) -> str:
    """`Time per operation`: the catalog's title, never the snake_case name; other tools'
    metrics read as words (`peakmemory` stays one)."""
    return catalog.title(metric)


def metric_unit(metric: str, recorded: str = "") -> str:
    """The unit a metric's numbers are in: the one recorded with them, else the catalog's."""
    if recorded:
        return recorded
    try:
        return catalog.info(metric).unit
    except KeyError:
        return ""


def metric_heading(metric: str, recorded_unit: str = "") -> str:
    """`Time per operation (seconds)`: the title with its unit, when it has one."""
    shown = metric_unit(metric, recorded_unit)
    words = _UNIT_WORDS.get(shown, shown)
    return f"{metric_title(metric)} ({words})" if words else metric_title(metric)


# How a column that is more than its metric's value draws a cell: (column, python, the row's
# values and units, both keyed by (python, metric)) -> the cell.
CellMaker = Callable[["Column", str, "pd.Series[Any]", "pd.Series[Any]"], Cell]


@dataclass(frozen=True)
class Column:
    """One column of a topic table: a metric, once per Python."""

    header: str
    metric: str
    needs: str = ""  # the measured metric without which the column is left out (default: its own)
    css: str = ""  # e.g. "modelled": numbers that are not measurements
    title: str = ""  # hover text of the header (default: the metric's title and unit)
    cell: CellMaker | None = None  # default: the value, compact, in its unit

    @property
    def required(self) -> str:
        return self.needs or self.metric


@dataclass(frozen=True)
class TopicTable:
    """What one topic's table shows: its metrics as columns, under a title and a note."""

    anchor: str
    title: str
    note: str
    columns: tuple[Column, ...]
    reads: frozenset[str] = frozenset()  # metrics the cells read that are not columns

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(c.metric for c in self.columns)


def shown_in(tables: Sequence[TopicTable]) -> Callable[[str], bool]:
    """Whether one of these tables shows (or reads) a metric."""
    shown = frozenset(m for t in tables for m in t.metrics | t.reads)
    return shown.__contains__


def topic_sections(
    frame: pd.DataFrame, tables: Sequence[TopicTable], extra_notes: Mapping[str, str]
) -> tuple[list[Section], list[str]]:
    """One section per table with any non-zero number, and a line for each table of only zeros.

    `extra_notes` add to a table's note by anchor.
    """
    rows = latest_per_python(frame[metric_mask(frame, shown_in(tables))])
    sections, quiet = [], []
    for table in tables:
        part = rows[rows["metric"].isin(table.metrics)]
        if part.empty:
            continue
        if not (part["value"].fillna(0) != 0).any():
            quiet.append(f"{table.title}: every number is 0 in every case shown.")
            continue
        if table.reads:
            part = pd.concat([part, rows[rows["metric"].isin(table.reads)]])
        sections.append(topic_section(table, part, extra_notes.get(table.anchor, "")))
    return sections, quiet


def topic_section(table: TopicTable, part: pd.DataFrame, extra_note: str = "") -> Section:
    """The section of one table from its rows (latest commit per Python already chosen)."""
    drawn, same, by_case = _topic_table(table, part)
    notes = [table.note, constant_note(part), same, extra_note]
    return Section(table.title, table.anchor, sentences(notes), drawn, by_case)


def _topic_table(spec: TopicTable, part: pd.DataFrame) -> tuple[Table, str, dict[Any, str]]:
    """The table, a note when every Python gave identical numbers (then shown once), and the
    row id of every case."""
    keys = list(KEY_COLUMNS)
    grouped = part.groupby([*keys, "python", "metric"], dropna=False, sort=False)
    values = grouped["value"].median().unstack(["python", "metric"])
    units = grouped["unit"].first().unstack(["python", "metric"])
    names_ = pythons(part)
    present = [c for c in spec.columns if any((p, c.required) in values.columns for p in names_)]
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
    ids = [_row_id(spec, case, workloads) for case, workloads, _ in merged]
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
    starts = group_starts(len(lead), names_, len(present)) or ("",) * len(headers)
    kinds = (
        *("" for _ in lead),
        *(c.css for _ in names_ for c in present),
    )
    column_css = tuple(" ".join(filter(None, pair)) for pair in zip(kinds, starts, strict=True))
    groups = python_groups(len(lead), names_, len(present))
    table = Table(
        headers, tuple(rows), numeric, groups, column_css, row_ids=tuple(ids), header_titles=titles
    )
    return table, same, by_case


def _row_id(spec: TopicTable, case: Mapping[str, Any], workloads: Sequence[str]) -> str:
    size = "" if pd.isna(case["size"]) else str(int(case["size"]))
    parts = (case["map"], workloads[0], size, case["key_kind"], case["params"])
    return anchor(spec.anchor, "row " + " ".join(str(p) for p in parts))


def _column_title(column: Column, part: pd.DataFrame) -> str:
    """Hover text of a header: the metric's title and unit from the catalog."""
    if column.title:
        return column.title
    units = part.loc[part["metric"] == column.metric, "unit"]
    return metric_heading(column.metric, str(units.iloc[0]) if len(units) else "")


def _identical_groups(cells: Sequence[Cell], per_python: int) -> bool:
    """True when each Python's run of cells in a row is the same."""
    groups = [tuple(cells[i : i + per_python]) for i in range(0, len(cells), per_python)]
    return len(set(groups)) == 1


def _lead_columns(part: pd.DataFrame) -> list[tuple[str, bool]]:
    """map and workload always; size, key kind and params only where they tell rows apart, or
    (params) differ between maps: a map that stored the same values as bytes says so."""
    lead = [("map", False), ("workload", False)]
    shown = varying(part, ["size", "key_kind"])
    lead += [(c.replace("_", " "), c == "size") for c in shown]
    if params_needed(part) or part["params"].nunique() > 1:
        lead.append(("params", False))
    return lead


def _row_order(part: pd.DataFrame, index: pd.Index[Any]) -> list[int]:
    """Rows by map and workload in the order they were run, then size, then key kind."""
    maps, workloads = first_seen(part["map"]), first_seen(part["workload"])
    keys = first_seen(part["key_kind"])

    def key(i: int) -> tuple[Any, ...]:
        m, w, size, k, params = index[i]
        return (maps[m], size_key(size), keys[k], workloads[w], str(params))

    return sorted(range(len(index)), key=key)


def _cell(column: Column, python: str, values: pd.Series[Any], units: pd.Series[Any]) -> Cell:
    if column.cell is not None:
        return column.cell(column, python, values, units)
    value = values.get((python, column.metric), np.nan)
    unit = str(units.get((python, column.metric)) or "")
    return Cell(formatting.compact(float(value), unit), num(value))


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
