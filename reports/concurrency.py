"""The concurrency section: the concurrent map designs side by side, and what they show in words.

Two kinds of table, one per Python, size, key kind and thread count:
- by read fraction (the `concurrent-R-W` mixed workloads): each map's throughput (every thread's
  operations per second of wall time: the inverse of the time table's statistic) and its reader
  p99 (`latency_read_p99`: each read timed alone, every thread's reads pooled);
- under a long writer (`long-writer-*`): the readers' p99 and max beside the writer's hold of the
  map (`latency_write_p50`: one bulk call).
The note says whether the GIL was on and how often it was handed over (the switch interval),
which bounds what any of these numbers can show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mapbench.reports.findings import Fragment, Line, Topic, href, joined, records, topic
from mapbench.reports.rows import latest_per_python
from mapbench.reports.tables import (
    Cell,
    Column,
    Section,
    Table,
    TopicTable,
    anchor,
    map_label,
    num,
    sentences,
)
from mapbench.reports.timing import TimeTable

from mapbench import formatting
from mapbench.case import KEY_COLUMNS
from mapbench.case import key as case_key
from mapbench.workloads import WorkloadError, get_workload

READ_P99, READ_MAX, WRITE_P50 = "latency_read_p99", "latency_read_max", "latency_write_p50"
# A longest read under this share of the writer's hold did not wait for it; one over FAR_LONGER
# times the hold waited for something else.
WAITED_SHARE = 0.5
FAR_LONGER = 4.0
_GROUP = ["python", "size", "key_kind", "threads"]

ROLES_TABLE = TopicTable(
    "latency-roles",
    "Latency of reads and writes apart",
    "Cases whose operations are reads or writes (mixed plans, concurrent and long-writer "
    "workloads): each operation timed on its own, every thread's together, reads and writes in "
    "their own distributions; spikes: slower than "
    f"10{formatting.TIMES} their own median. A long writer's write is one bulk call",
    tuple(
        Column(f"{role} {header}", f"latency_{role}_{suffix}")
        for role in ("read", "write")
        for header, suffix in (("p50", "p50"), ("p99", "p99"), ("max", "max"), ("spikes", "spikes"))
    ),
    reads=frozenset({"latency_read_p999", "latency_write_p999"}),
)


@dataclass(frozen=True)
class ConcurrencyView:
    """The section's tables, its note and its findings (empty when no concurrent case ran)."""

    note: str
    sections: tuple[Section, ...]
    findings: Topic | None


@dataclass(frozen=True)
class _Kind:
    """What a concurrent workload is: a read fraction, or a long writer's bulk operation."""

    threads: int
    read_fraction: float | None = None
    bulk: str = ""


def _kind(workload: str) -> _Kind | None:
    try:
        params = get_workload(workload).params
    except WorkloadError:  # results of a workload this version does not know
        return None
    if "threads" not in params:
        return None
    if "read_fraction" in params:
        return _Kind(int(params["threads"]), float(params["read_fraction"]))
    if "rounds" in params:
        return _Kind(int(params["threads"]), bulk="clear" if params["clear"] else "update")
    return None


def _mix_label(fraction: float) -> str:
    reads = round(fraction * 100)
    return f"{reads}/{100 - reads}"


def concurrency_view(
    frame: pd.DataFrame, tables: Sequence[TimeTable], environments: Mapping[str, Any]
) -> ConcurrencyView:
    """The section from the tidy frame and the time tables (whose statistic gives throughput)."""
    kinds = {w: k for w in frame["workload"].unique() if (k := _kind(str(w))) is not None}
    if not kinds:
        return ConcurrencyView("", (), None)
    rows = _wide(frame[frame["workload"].isin(list(kinds))], tables, kinds)
    if rows.empty:  # concurrent cases ran, but none succeeded
        return ConcurrencyView("", (), None)
    sections: list[Section] = []
    lines: list[Line] = []
    mixes = rows[rows["read_fraction"].notna()]
    for group, part in mixes.groupby(_GROUP, sort=False, dropna=False):
        section = _mix_section(dict(zip(_GROUP, group, strict=True)), part)
        sections.append(section)
        lines += _mix_findings(part, section)
    writers = rows[rows["bulk"] != ""]
    for group, part in writers.groupby([*_GROUP, "bulk"], sort=False, dropna=False):
        section = _writer_section(dict(zip([*_GROUP, "bulk"], group, strict=True)), part)
        sections.append(section)
        lines += _writer_findings(part, section)
    note = sentences(
        [
            "Throughput: every thread's operations per second of wall time (the inverse of the "
            "time table's statistic); read p99: each read timed alone, every thread's reads "
            "together; a writer's hold: one bulk call (update, or clear and refill) under the "
            "map's lock",
            gil_note(environments),
        ]
    )
    return ConcurrencyView(
        note, tuple(sections), topic("Concurrent maps", lines) if lines else None
    )


def gil_note(environments: Mapping[str, Any]) -> str:
    """`GIL on, switch interval 5 ms (Python 3.11.7)` per Python, and what it means."""
    seen: dict[str, str] = {}
    for env in environments.values():
        python = str(env.get("python") or "?")
        if "gil_enabled" not in env:
            seen.setdefault(python, "GIL state not recorded")
            continue
        state = "GIL on" if env["gil_enabled"] else "GIL off (free-threaded)"
        interval = env.get("switch_interval")
        if isinstance(interval, int | float):
            state += f", switch interval {formatting.value(float(interval), 's')}"
        seen[python] = state
    if not seen:
        return ""
    parts = "; ".join(f"{state} on Python {p}" for p, state in sorted(seen.items()))
    meaning = (
        "With the GIL on, one thread runs Python at a time: threads take turns rather than "
        "read in parallel, a lock-free read saves the cost of a lock, not waiting, and a thread "
        "that wants the GIL may wait a switch interval for it"
        if any(s.startswith("GIL on") for s in seen.values())
        else ""
    )
    return f"{parts}. {meaning}" if meaning else parts


def _wide(
    frame: pd.DataFrame, tables: Sequence[TimeTable], kinds: Mapping[str, _Kind]
) -> pd.DataFrame:
    """One row per case and Python: its kind, throughput and latency figures."""
    wanted = {READ_P99, READ_MAX, WRITE_P50}
    latest = latest_per_python(frame[frame["metric"].isin(wanted)])
    keys = [*KEY_COLUMNS, "python"]
    figures = (
        latest.pivot_table(index=keys, columns="metric", values="value", aggfunc="median")
        if not latest.empty
        else pd.DataFrame()
    )
    cases = latest_per_python(frame).drop_duplicates(keys)
    out = []
    for row in records(cases[keys]):
        kind = kinds[str(row["workload"])]
        found = _figures(figures, tuple(row[k] for k in keys))
        out.append(
            {
                **row,
                "threads": kind.threads,
                "read_fraction": kind.read_fraction,
                "bulk": kind.bulk,
                "throughput": _throughput(tables, row),
                **{m: found.get(m, math.nan) for m in wanted},
            }
        )
    wide: pd.DataFrame = pd.DataFrame(out)
    return wide


def _figures(figures: pd.DataFrame, key: tuple[Any, ...]) -> dict[str, float]:
    if figures.empty:
        return {}
    try:
        found = figures.loc[key]
    except KeyError:
        return {}
    return {str(k): float(v) for k, v in found.items()}


def _throughput(tables: Sequence[TimeTable], row: Mapping[str, Any]) -> float:
    """Operations per second from the time table's statistic (seconds per operation)."""
    for t in tables:
        if t.key_kind != row["key_kind"] or not _same_size(t.size, row["size"]):
            continue
        spread = t.cell(str(row["map"]), str(row["params"]), str(row["workload"]), row["python"])
        if spread is not None and spread.statistic > 0:
            return 1.0 / spread.statistic
    return math.nan


def _same_size(a: Any, b: Any) -> bool:
    return bool(pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and a == b)


def _title(key: Mapping[str, Any], what: str) -> str:
    parts = [what, f"{key['threads']} threads"]
    if not pd.isna(key["size"]):
        parts.append(f"size {int(key['size']):,}")
    if key["key_kind"]:
        parts.append(f"{key['key_kind']} keys")
    parts.append(f"Python {key['python']}")
    return " · ".join(parts)


def _label(row: Mapping[str, Any]) -> str:
    return map_label(str(row["map"]), str(row["params"]))


def _rate(ops_per_s: float) -> str:
    return formatting.MISSING if not math.isfinite(ops_per_s) else f"{ops_per_s / 1e6:.2f}"


def _mix_section(key: Mapping[str, Any], part: pd.DataFrame) -> Section:
    title = _title(key, "Concurrent maps by read fraction")
    section_id = anchor("concurrency", title)
    fractions = sorted(part["read_fraction"].unique(), reverse=True)
    best = {f: part[part["read_fraction"] == f]["throughput"].max() for f in fractions}
    rows, by_case, ids = [], {}, []
    for label, cases in part.groupby(["map", "params"], sort=False):
        row_id = anchor(section_id, " ".join(str(x) for x in label))
        cells = [Cell(map_label(str(label[0]), str(label[1])))]
        for f in fractions:
            at = cases[cases["read_fraction"] == f]
            rate = float(at["throughput"].iloc[0]) if not at.empty else math.nan
            p99 = float(at[READ_P99].iloc[0]) if not at.empty else math.nan
            fastest = math.isfinite(rate) and rate == best[f]
            cells += [
                Cell(_rate(rate), num(rate), css="best" if fastest else ""),
                Cell(formatting.value(p99, "s"), num(p99)),
            ]
            if not at.empty:
                by_case[case_key(records(at)[0])] = row_id
        rows.append(tuple(cells))
        ids.append(row_id)
    headers = ("map", *(h for _ in fractions for h in ("Mops/s", "read p99")))
    table = Table(
        headers,
        tuple(rows),
        (False, *(True,) * (2 * len(fractions))),
        groups=(("", 1), *((f"{_mix_label(f)} reads/writes", 2) for f in fractions)),
        row_ids=tuple(ids),
    )
    return Section(title, section_id, "", table, by_case)


def _writer_section(key: Mapping[str, Any], part: pd.DataFrame) -> Section:
    what = "clears and refills" if key["bulk"] == "clear" else "bulk updates"
    title = _title(key, f"Readers beside a writer's {what}")
    section_id = anchor("concurrency", title)
    rows, by_case, ids = [], {}, []
    for r in records(part):
        row_id = anchor(section_id, _label(r))
        rows.append(
            (
                Cell(_label(r)),
                Cell(_rate(r["throughput"]), num(r["throughput"])),
                *(Cell(formatting.value(r[m], "s"), num(r[m])) for m in (READ_P99, READ_MAX)),
                Cell(formatting.value(r[WRITE_P50], "s"), num(r[WRITE_P50])),
            )
        )
        by_case[case_key(r)] = row_id
        ids.append(row_id)
    table = Table(
        ("map", "Mops/s", "read p99", "read max", "writer's hold"),
        tuple(rows),
        (False, True, True, True, True),
        row_ids=tuple(ids),
    )
    note = (
        "One thread makes the bulk call four times while the others read; the writer's hold is "
        "the median time of one bulk call"
    )
    return Section(title, section_id, sentences([note]), table, by_case)


def _mix_findings(part: pd.DataFrame, section: Section) -> Iterable[Line]:
    """Per read fraction: the maps by throughput, and the lowest reader p99."""
    for f in sorted(part["read_fraction"].unique(), reverse=True):
        at = part[(part["read_fraction"] == f) & part["throughput"].notna()]
        ranked = records(at.sort_values("throughput", ascending=False, kind="stable"))
        if len(ranked) < 2:
            continue
        line = [
            Fragment(f"{_mix_label(f)} reads/writes, {ranked[0]['threads']} threads: "),
            *joined(
                [_map_fragment(r, section, f"{r['throughput'] / 1e6:.2f} Mops/s") for r in ranked]
            ),
        ]
        calm = [r for r in ranked if math.isfinite(r[READ_P99])]
        if calm:
            r = min(calm, key=lambda r: float(r[READ_P99]))
            line.append(
                Fragment(f"; lowest reader p99: {_label(r)}, {formatting.value(r[READ_P99], 's')}")
            )
        yield tuple(line)


def _writer_findings(part: pd.DataFrame, section: Section) -> Iterable[Line]:
    """Per map: how its longest read compares with the writer's hold."""
    for r in records(part):
        hold, longest = r[WRITE_P50], r[READ_MAX]
        if not (math.isfinite(hold) and math.isfinite(longest)):
            continue
        if longest < WAITED_SHARE * hold:
            verdict = "no read took as long as the writer's hold"
        elif longest <= FAR_LONGER * hold:
            verdict = "the longest read was about the writer's hold: readers may have waited for it"
        else:
            verdict = (
                "the longest read was far longer than the writer's hold: it waited for something "
                "else (the GIL, the machine)"
            )
        yield (
            _map_fragment(r, section, ""),
            Fragment(
                f" beside {r['bulk']}s: {verdict} (longest read "
                f"{formatting.value(longest, 's')}, hold {formatting.value(hold, 's')}, "
                f"reader p99 {formatting.value(r[READ_P99], 's')})"
            ),
        )


def _map_fragment(row: Mapping[str, Any], section: Section, figure: str) -> Fragment:
    text = _label(row) + (f" {figure}" if figure else "")
    return Fragment(text, href(section, row), "figure")


__all__ = ["ConcurrencyView", "concurrency_view", "gil_note"]
