"""Table cells and tables as the templates draw them: text already formatted, sort keys separate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


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
