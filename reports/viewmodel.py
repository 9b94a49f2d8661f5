"""The report's view model: everything the templates show, already chosen, ordered and formatted.

It reads only the tidy frame (`mapbench.results`), a `Comparison` (`mapbench.compare`) and,
optionally, change points of the history (a frame; see `reports.history`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from mapbench.reports import (
    charts,
    environments,
    figures,
    findings,
    history,
    names,
    others,
    probes,
    selection,
    themes,
    timetable,
    verdicts,
)
from mapbench.reports.cells import Cell, Section, Table
from mapbench.reports.environments import EnvironmentBlock
from mapbench.reports.fragments import Topic
from mapbench.reports.verdicts import case_text, case_with_context

from mapbench import __version__, formatting
from mapbench.case import KEY_COLUMNS, key
from mapbench.compare import Comparison, Verdict
from mapbench.results import ResultSet
from mapbench.thresholds import Thresholds

__all__ = ["ReportView", "build", "case_text", "case_with_context"]

MAX_GC_CHARTS = 12


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
    time_note: str
    time_tables: tuple[TimeSection, ...]
    themes: tuple[Section, ...]
    quiet: tuple[str, ...]  # topics left out because every number was 0
    latency_charts: tuple[charts.Chart, ...]
    memory_charts: tuple[charts.Chart, ...]
    probe_table: Section | None
    metric_tables: tuple[Section, ...]
    history: history.History
    probes: probes.ProbeView
    gc: tuple[charts.Chart, ...]
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
    gc_note = {"gc": environments.gc_thresholds(shown.environments)}
    topics, quiet = themes.theme_sections(shown.frame, gc_note)
    others_, quiet_others = others.other_sections(shown.frame, _shown_elsewhere)
    tables = timetable.time_tables(shown.frame, statistic, thresholds)
    chart_of: dict[str, list[charts.Chart]] = {}
    for anchor, chart in timetable.time_charts(tables):
        chart_of.setdefault(anchor, []).append(chart)
    failed = _failed(frame)
    failure_ids = tuple(f"failure-{i}" for i in range(len(failed)))
    sides = environments.sides(results, comparison)
    return ReportView(
        title=title,
        version=__version__,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        findings=findings.topics(
            shown, tables, {s.anchor: s for s in topics}, failed, failure_ids, thresholds
        ),
        overview=_overview(frame),
        problems=tuple(str(p) for p in results.problems),
        summary=verdicts.summary(comparison) if comparison is not None else None,
        verdicts=verdicts.verdict_table(comparison) if comparison is not None else None,
        failures=_failure_table(failed, failure_ids),
        time_note=timetable.describe(statistic),
        time_tables=tuple(
            TimeSection(s, tuple(chart_of.get(s.anchor, ())))
            for s in timetable.time_sections(tables)
        ),
        themes=tuple(t for t in topics if t.anchor != themes.PROBES),
        quiet=(*quiet, *quiet_others),
        latency_charts=tuple(figures.latency_charts(shown.frame)),
        memory_charts=tuple(figures.memory_charts(shown.frame)),
        probe_table=next((t for t in topics if t.anchor == themes.PROBES), None),
        metric_tables=tuple(others_),
        history=history.history(frame, _regressed_cases(comparison), change_points),
        probes=probes.probe_view(shown.frame),
        gc=tuple(_gc_charts(frame)),
        runs=environments.summary_table(sides),
        environments=tuple(environments.blocks(sides)),
        scope=scope,
    )


def _shown_elsewhere(metric: str) -> bool:
    """Metrics of the time table or a topic table."""
    return metric == "time" or themes.themed(metric)


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


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts keyed by column name."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _present(value: Any) -> bool:
    return value is not None and not pd.isna(value) and value != ""


def _overview(frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """A few lines: what was measured, where, and how many cases failed."""
    # one case measured by several tools (pyperf times, mapbench metrics) counts once
    cases = frame.drop_duplicates(["map", "workload", "size", "key_kind", "python", "commit"])
    failed = cases[cases["status"] != "ok"]["status"].value_counts()
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
            ", ".join(selection.pythons(frame[frame["python"] != ""])) or formatting.MISSING,
        ),
        ("commit" if len(commits) == 1 else "commits", commit),
        ("machine", _listed(frame["machine"])),
        (
            "cases",
            f"{len(cases):,} in {frame['file'].nunique():,} files "
            f"({', '.join(sorted(frame['source'].unique()))}); "
            + (", ".join(f"{n:,} {status}" for status, n in failed.items()) or "none failed"),
        ),
    )


def _listed(values: pd.Series[Any]) -> str:
    """Distinct non-empty values in the order first seen."""
    return (
        ", ".join(str(v) for v in dict.fromkeys(values.tolist()) if _present(v))
        or formatting.MISSING
    )


def _failed(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per failed (timed out, skipped) case, at most 500."""
    failed = frame[frame["status"] != "ok"].drop_duplicates(
        ["source", "benchmark", *KEY_COLUMNS, "python", "commit", "status"]
    )
    first: pd.DataFrame = failed.head(500).reset_index(drop=True)
    return first


def _failure_table(failed: pd.DataFrame, ids: Sequence[str]) -> Table | None:
    if failed.empty:
        return None
    rows = tuple(
        (
            Cell(str(r["status"]), css="bad"),
            Cell(case_text(r)),
            Cell(str(r["python"])),
            Cell(formatting.short_commit(str(r["commit"]))),
            Cell(str(r["error"]), css="wrap error"),
        )
        for r in _records(failed)
    )
    return Table(
        ("status", "case", "python", "commit", "error"), rows, (False,) * 5, row_ids=tuple(ids)
    )


def _regressed_cases(comparison: Comparison | None) -> set[tuple[Any, ...]]:
    """Every regression's case and metric (`history.REGRESSION_KEY`): their histories go first."""
    if comparison is None:
        return set()
    bad = comparison.rows[comparison.rows["verdict"] == Verdict.REGRESSION]
    return {key(row, history.REGRESSION_KEY) for row in _records(bad)}


def _gc_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """GC pause distributions: one row per Python (and commit, when several)."""
    mask = frame["metric"].str.startswith("gc_pause") & (frame["n_samples"] >= 2)
    pauses = frame[mask & (frame["status"] == "ok")]
    for n, (values, group) in enumerate(pauses.groupby(["metric", *KEY_COLUMNS], dropna=False)):
        if n >= MAX_GC_CHARTS:
            return
        several = group["commit"].nunique() > 1
        rows: list[tuple[str, Sequence[float]]] = []
        for (python, commit), part in group.groupby(["python", "commit"], sort=True):
            label = f"py{python}" + (f" {formatting.short_commit(str(commit))}" if several else "")
            rows.append((label, [x for s in part["samples"] for x in s]))
        if not any(x > 0 for _, samples in rows for x in samples):
            continue  # a chart of zeros says nothing
        rows.sort(key=lambda r: selection.version_key(r[0][2:].split(" ")[0]))
        keyed = dict(zip(["metric", *KEY_COLUMNS], values, strict=True))
        yield charts.box_chart(
            title=f"{names.title(str(keyed['metric']))}: {case_text(keyed)}",
            subtitle="every collection · box: quartiles · whiskers: 5th to 95th percentile",
            rows=rows,
            unit=str(group["unit"].iloc[0]),
            anchor=selection.anchor("gc", f"{keyed['metric']} {case_text(keyed)}"),
        )
