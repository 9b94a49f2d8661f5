"""The pieces of a finding: text fragments (some linking to a table row), lines, topics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

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
