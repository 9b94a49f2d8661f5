"""Metric names for people: the catalog's title and unit, never the snake_case name."""

from __future__ import annotations

from mapbench import catalog

# Units as a heading spells them out (a bare "s" or "B" reads as a letter).
_UNIT_WORDS = {"s": "seconds", "B": "bytes", "ratio": "", "": ""}


def title(metric: str) -> str:
    """`Time per operation`; other tools' metrics read as words (`peakmemory` stays one)."""
    return catalog.title(metric)


def unit(metric: str, recorded: str = "") -> str:
    """The unit a metric's numbers are in: the one recorded with them, else the catalog's."""
    if recorded:
        return recorded
    try:
        return catalog.info(metric).unit
    except KeyError:
        return ""


def heading(metric: str, recorded_unit: str = "") -> str:
    """`Time per operation (seconds)`: the title with its unit, when it has one."""
    shown = unit(metric, recorded_unit)
    words = _UNIT_WORDS.get(shown, shown)
    return f"{title(metric)} ({words})" if words else title(metric)
