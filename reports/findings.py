"""The pieces of a finding: text fragments (some linking to a table row), lines, topics.

Each topic module writes its own findings from these; `reports.viewmodel` puts them in the
order a reader asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from mapbench.reports.tables import Section, case_text

from mapbench.case import KEY_COLUMNS, key

MAX_LINES = 12  # per topic; the tables hold the rest


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


def topic(title: str, lines: Sequence[Line], note: str = "") -> Topic:
    """A topic of at most MAX_LINES lines; the note says how many more there were."""
    kept = tuple(lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        note = f"{MAX_LINES} of {len(lines)} shown; the rest are in the tables. {note}".strip()
    return Topic(title, kept, note)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts keyed by column name."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def metric_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """Case x Python rows, one column per metric (medians of repeated runs)."""
    keys = [*KEY_COLUMNS, "python"]
    table: pd.DataFrame = rows.pivot_table(
        index=keys, columns="metric", values="value", aggfunc="median"
    ).reset_index()
    return table


def case_line(row: Mapping[str, Any], several_pythons: bool) -> str:
    """The case as text, and its Python when the findings span several."""
    return case_text(row) + (f", Python {row['python']}" if several_pythons else "")


def href(section: Section | None, row: Mapping[str, Any]) -> str:
    """The link to the row of `section` that shows this case ("" when none does)."""
    if section is None:
        return ""
    return "#" + section.rows_by_case[key(row)] if key(row) in section.rows_by_case else ""


def joined(fragments: Sequence[Fragment]) -> list[Fragment]:
    """The fragments separated by commas."""
    out: list[Fragment] = []
    for i, f in enumerate(fragments):
        out += [Fragment(", ")] if i else []
        out.append(f)
    return out
