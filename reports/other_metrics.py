"""Every metric no other section shows, in a few tables by family, with the catalog's titles.

A family is the pass that produced the metrics (the catalog's source: the GC by generation, the
statistics maps report about their tables, ...); metrics of other tools form one family per
tool. Each family is one map x workload table like the topic tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd
from mapbench.reports.probes import HISTOGRAM
from mapbench.reports.rows import latest_per_python, metric_mask
from mapbench.reports.tables import Column, Section, TopicTable, anchor, metric_title, topic_section

from mapbench import catalog

FAMILIES = {
    "timing": ("Other timings", ""),
    "gc": ("Garbage collection by generation", "Collections and pauses of each generation."),
    "latency": ("Latency, more", "The timer's own overhead is included in every latency."),
    "blocks": ("Allocated blocks", ""),
    "tracemalloc": ("Traced allocations", ""),
    "memory": ("Memory, more", ""),
    "probes": ("Table statistics", "Statistics the maps report about their own tables."),
    "instructions": ("Instructions", "Counted under valgrind: deterministic."),
}


def _family(metric: str, source: str) -> str:
    try:
        return catalog.info(metric).source
    except KeyError:
        return f"tool:{source}"


def _header(metric: str) -> str:
    """The title without the family's prefix (`Table: homes` reads `homes` in its table)."""
    return metric_title(metric).removeprefix("Table: ")


def other_sections(
    frame: pd.DataFrame, shown_elsewhere: Callable[[str], bool]
) -> tuple[list[Section], list[str]]:
    """The family tables, and a line for each family whose every number is 0 (not drawn)."""
    sections: list[Section] = []
    quiet: list[str] = []
    for section in _sections(frame, shown_elsewhere):
        if isinstance(section, str):
            quiet.append(section)
        else:
            sections.append(section)
    return sections, quiet


def _sections(
    frame: pd.DataFrame, shown_elsewhere: Callable[[str], bool]
) -> Iterable[Section | str]:
    ok = frame[
        (frame["status"] == "ok")
        & (frame["metric"] != "")
        & ~metric_mask(frame, shown_elsewhere)
        & ~frame["metric"].str.contains(HISTOGRAM)
    ]
    rows = latest_per_python(ok)
    if rows.empty:
        return
    families = [_family(m, s) for m, s in zip(rows["metric"], rows["source"], strict=True)]
    rows = rows.assign(_family=families)
    order = [*FAMILIES, *sorted(set(families) - set(FAMILIES))]
    for family in order:
        part = rows[rows["_family"] == family].drop(columns="_family")
        if part.empty:
            continue
        if not (part["value"].fillna(0) != 0).any():
            yield f"{FAMILIES.get(family, (family,))[0]}: every number is 0 in every case shown."
            continue
        tool = family.removeprefix("tool:")
        title, note = FAMILIES.get(family, (f"Metrics outside the catalog ({tool})", ""))
        if family.startswith("tool:"):
            note = "Not in mapbench's metric catalog: titles are read from the names."
        for maps, chunk in _by_reported_metrics(part):
            named = title if maps is None else f"{title}: {', '.join(maps)}"
            metrics = list(dict.fromkeys(chunk["metric"]))
            modelled = " Modelled, not measured." if (chunk["kind"] == "modelled").all() else ""
            table = TopicTable(
                anchor("metrics", named),
                named,
                note + modelled,
                tuple(Column(_header(m), m) for m in metrics),
            )
            yield topic_section(table, chunk)


def _by_reported_metrics(part: pd.DataFrame) -> list[tuple[list[str] | None, pd.DataFrame]]:
    """Maps that report different sets of metrics (each its own table statistics) get a table
    per set, so no table is mostly empty; (None, part) when every map reports the same."""
    cases = list(zip(part["map"].astype(str), part["params"].astype(str), strict=True))
    reported: dict[tuple[str, str], set[str]] = {}
    for case, metric in zip(cases, part["metric"], strict=True):
        reported.setdefault(case, set()).add(str(metric))
    sets = list(dict.fromkeys(frozenset(s) for s in reported.values()))
    if len(sets) == 1:
        return [(None, part)]
    out: list[tuple[list[str] | None, pd.DataFrame]] = []
    for metrics in sets:
        maps = [case for case, s in reported.items() if s == metrics]
        keep = [case in maps for case in cases]
        out.append(([f"{m} ({p})" if p else m for m, p in maps], part[keep]))
    return out
