"""Table cells and tables as the templates draw them: text already formatted, sort keys separate."""

from __future__ import annotations

from dataclasses import dataclass
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


def num(value: Any) -> str:
    """A number as a sort key; "" for a missing one (sorted last)."""
    return "" if value is None or pd.isna(value) else repr(float(value))


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    note: str
    table: Table
