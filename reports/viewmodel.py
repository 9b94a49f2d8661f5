"""The report's view model: everything the templates show, already chosen, ordered and formatted.

It reads only the tidy frame (`mapbench.results`), a `Comparison` (`mapbench.compare`) and,
optionally, change points of the history (a frame; see `reports.history`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mapbench.reports import (
    allocations,
    charts,
    concurrency,
    environments,
    failures,
    garbage_collection,
    history,
    latency,
    memory,
    other_metrics,
    probes,
    rows,
    tables,
    timing,
    timing_findings,
    verdicts,
)
from mapbench.reports.environments import EnvironmentBlock
from mapbench.reports.findings import Topic, records
from mapbench.reports.tables import Section, Table

from mapbench import __version__, formatting
from mapbench.case import key
from mapbench.compare import Comparison, Verdict
from mapbench.results import ResultSet
from mapbench.thresholds import Thresholds

__all__ = ["TOPIC_TABLES", "ReportView", "build"]

# The topic tables, in the order the report shows them.
TOPIC_TABLES = (
    latency.TABLE,
    latency.SPIKES_TABLE,
    concurrency.ROLES_TABLE,
    garbage_collection.TABLE,
    allocations.PER_OPERATION_TABLE,
    allocations.TABLE,
    memory.TABLE,
    probes.TABLE,
)
_IN_TOPIC_TABLES = tables.shown_in(TOPIC_TABLES)


@dataclass(frozen=True)
class TimeSection:
    section: Section
    charts: tuple[charts.Chart, ...]


@dataclass(frozen=True)
class ReportView:
    title: str
    version: str
    generated: str
    findings: tuple[Topic, ...]
    overview: tuple[tuple[str, str], ...]
    problems: tuple[str, ...]
    summary: verdicts.Summary | None
    verdicts: Table | None
    failures: Table | None
    not_run: Table | None  # cases neither measured nor failed (skipped, not selected, ...)
    time_note: str
    time_tables: tuple[TimeSection, ...]
    concurrency: concurrency.ConcurrencyView
    themes: tuple[Section, ...]
    quiet: tuple[str, ...]  # topics left out because every number was 0
    latency_charts: tuple[charts.Chart, ...]
    memory_charts: tuple[charts.Chart, ...]
    probe_table: Section | None
    metric_tables: tuple[Section, ...]
    history: history.History
    probes: probes.ProbeView
    gc: tuple[charts.Chart, ...]
    gc_size_charts: tuple[charts.Chart, ...]
    runs: Table | None
    environments: tuple[EnvironmentBlock, ...]
    scope: str  # what the tables after the verdict show, when not everything


def build(
    results: ResultSet,
    comparison: Comparison | None,
    title: str,
    statistic: str = "p10",
    change_points: pd.DataFrame | None = None,
) -> ReportView:
    """The whole view model of one report; `statistic` is what the time table shows."""
    frame = results.frame
    thresholds = (
        comparison.thresholds if comparison is not None else Thresholds(statistic=statistic)
    )
    statistic = thresholds.statistic
    shown, scope = _candidate_side(results, comparison)
    gc_note = {
        garbage_collection.TABLE.anchor: garbage_collection.thresholds_note(shown.environments)
    }
    topics, quiet = tables.topic_sections(shown.frame, TOPIC_TABLES, gc_note)
    others_, quiet_others = other_metrics.other_sections(shown.frame, _shown_elsewhere)
    time_tables = timing.time_tables(shown.frame, statistic, thresholds)
    chart_of: dict[str, list[charts.Chart]] = {}
    for anchor, chart in timing.time_charts(time_tables):
        chart_of.setdefault(anchor, []).append(chart)
    concurrent = concurrency.concurrency_view(shown.frame, time_tables, shown.environments)
    failed = failures.failed_cases(frame)
    failure_ids = tuple(f"failure-{i}" for i in range(len(failed)))
    sides = environments.sides(results, comparison)
    return ReportView(
        title=title,
        version=__version__,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        findings=_findings(
            shown,
            time_tables,
            {s.anchor: s for s in topics},
            failed,
            failure_ids,
            thresholds,
            concurrent.findings,
        ),
        overview=_overview(frame),
        problems=tuple(str(p) for p in results.problems),
        summary=verdicts.summary(comparison) if comparison is not None else None,
        verdicts=verdicts.verdict_table(comparison) if comparison is not None else None,
        failures=failures.failure_table(failed, failure_ids),
        not_run=failures.not_run_table(frame),
        time_note=timing.describe(thresholds),
        time_tables=tuple(
            TimeSection(s, tuple(chart_of.get(s.anchor, ())))
            for s in timing.time_sections(time_tables)
        ),
        concurrency=concurrent,
        themes=tuple(t for t in topics if t.anchor != probes.PROBES),
        quiet=(*quiet, *quiet_others),
        latency_charts=tuple(latency.latency_charts(shown.frame)),
        memory_charts=tuple(memory.memory_charts(shown.frame)),
        probe_table=next((t for t in topics if t.anchor == probes.PROBES), None),
        metric_tables=tuple(others_),
        history=history.history(frame, _regressed_cases(comparison), change_points),
        probes=probes.probe_view(shown.frame),
        gc=tuple(garbage_collection.pause_charts(frame)),
        gc_size_charts=tuple(garbage_collection.size_charts(shown.frame)),
        runs=environments.summary_table(sides),
        environments=tuple(environments.blocks(sides)),
        scope=scope,
    )


def _findings(
    shown: ResultSet,
    time_tables: Sequence[timing.TimeTable],
    sections: Mapping[str, Section],
    failed: pd.DataFrame,
    failure_ids: Sequence[str],
    thresholds: Thresholds,
    concurrent: Topic | None,
) -> tuple[Topic, ...]:
    """Every topic's findings that say something, in the order a reader asks."""
    found = [
        *timing_findings.time_topics(shown.frame, time_tables, thresholds),
        concurrent,
        latency.tails_finding(shown.frame, sections.get(latency.TABLE.anchor)),
        memory.least_memory_finding(shown.frame, sections.get(memory.TABLE.anchor)),
        garbage_collection.pause_finding(
            shown.frame, sections.get(garbage_collection.TABLE.anchor)
        ),
        probes.probe_finding(shown.frame, sections.get(probes.PROBES)),
        failures.failure_finding(failed, failure_ids),
        timing.quality_finding(time_tables, shown.environments),
    ]
    return tuple(t for t in found if t is not None and t.lines)


def _shown_elsewhere(metric: str) -> bool:
    """Metrics of the time table or a topic table."""
    return metric == "time" or _IN_TOPIC_TABLES(metric)


def _candidate_side(results: ResultSet, comparison: Comparison | None) -> tuple[ResultSet, str]:
    """The results the tables show: a comparison's candidate side (its files), else everything.

    Pooling both sides of a comparison into one table would mix the runs being compared.
    """
    if comparison is None or not comparison.candidate_environments:
        return results, ""
    files = set(comparison.candidate_environments)
    chosen = results.select(results.frame["file"].isin(files))
    if chosen.frame.empty:
        return results, ""
    return chosen, (
        f"The findings and tables below show the candidate side ({comparison.candidate_label}) "
        "only; the verdict compares it with the base."
    )


def _present(value: Any) -> bool:
    return value is not None and not pd.isna(value) and value != ""


def _overview(frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """A few lines: what was measured, where, and how many cases failed."""
    # one case measured by several tools (pyperf times, mapbench metrics) counts once
    cases = frame.drop_duplicates(["map", "workload", "size", "key_kind", "python", "commit"])
    commits = frame[frame["commit"] != ""].drop_duplicates("commit")
    if len(commits) == 1:
        commit = formatting.short_commit(str(commits["commit"].iloc[0]))
        date = commits["commit_date"].iloc[0]
        commit += "" if pd.isna(date) else f" ({date:%Y-%m-%d})"
    else:
        commit = f"{len(commits):,}"
    sizes = sorted(int(s) for s in frame["size"].dropna().unique())
    return (
        ("maps", _listed(frame["map"])),
        ("workloads", _listed(frame["workload"])),
        ("sizes", ", ".join(f"{s:,}" for s in sizes) or formatting.MISSING),
        ("key kinds", _listed(frame["key_kind"])),
        (
            "Python",
            ", ".join(rows.pythons(frame[frame["python"] != ""])) or formatting.MISSING,
        ),
        ("commit" if len(commits) == 1 else "commits", commit),
        ("machine", _listed(frame["machine"])),
        (
            "cases",
            f"{len(cases):,} in {frame['file'].nunique():,} files "
            f"({', '.join(sorted(frame['source'].unique()))})",
        ),
        # failures first, then what was not run (skipped, not selected): never failures
        ("results", failures.outcome_text(frame)),
    )


def _listed(values: pd.Series[Any]) -> str:
    """Distinct non-empty values in the order first seen."""
    return (
        ", ".join(str(v) for v in dict.fromkeys(values.tolist()) if _present(v))
        or formatting.MISSING
    )


def _regressed_cases(comparison: Comparison | None) -> set[tuple[Any, ...]]:
    """(metric, workload, size, key_kind, params) of every regression: their histories go first."""
    if comparison is None:
        return set()
    bad = comparison.rows[comparison.rows["verdict"] == Verdict.REGRESSION]
    return {key(row, history.REGRESSION_KEY) for row in records(bad)}
