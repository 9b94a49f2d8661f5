"""The report's view model: everything the templates show, already chosen, ordered and formatted.

It reads only the tidy frame (`mapbench.results`) and a `Comparison` (`mapbench.compare`).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from mapbench.reports import charts, environments, probes, selection, themes, timetable
from mapbench.reports.cells import Cell, Section, Table, num
from mapbench.reports.environments import EnvironmentBlock

from mapbench import __version__, formatting
from mapbench.compare import Comparison
from mapbench.results import ResultSet

CASE_COLUMNS = ("map", "workload", "size", "key_kind", "params")
VERDICT_CSS = {
    "regression": "bad",
    "improvement": "good",
    "no change": "same",
    "inconclusive": "unsure",
    "too noisy": "unsure",
}
# What the Markdown summary lists row by row (everything but "no change").
LISTED_VERDICTS = ("regression", "improvement", "too noisy", "inconclusive")
MAX_HISTORY_CHARTS = 24
MAX_GC_CHARTS = 12
# Context shown next to a case when a comparison spans several values (env follows python).
_SHOWN_CONTEXT = ("python", "machine")
_PROBE_HISTOGRAM = re.compile(r"probe.*(?:hit|miss).*hist")
# Metrics shown elsewhere: in the time table, a theme table, or as histograms.
_SHOWN_ELSEWHERE = themes.THEMED_METRICS | {"time"}


@dataclass(frozen=True)
class Highlight:
    """One line of the summary: a regressed or improved case, how much and how sure."""

    verdict: str
    case: str
    metric: str
    change: str
    interval: str
    certainty: str
    before: str = ""  # the base side's value with its unit
    after: str = ""  # the candidate side's
    note: str = ""  # why a row is too noisy, or how it was judged


@dataclass(frozen=True)
class Summary:
    base_label: str
    candidate_label: str
    axis: str
    headline: str
    counts: tuple[tuple[str, int, str], ...]  # verdict, count, css class
    regressions: tuple[Highlight, ...]
    improvements: tuple[Highlight, ...]
    more_regressions: int
    method: str
    unmatched: str
    listed: tuple[Highlight, ...] = ()  # every row whose verdict is in LISTED_VERDICTS


@dataclass(frozen=True)
class ReportView:
    title: str
    version: str
    generated: str
    overview: tuple[tuple[str, str], ...]
    problems: tuple[str, ...]
    summary: Summary | None
    verdicts: Table | None
    failures: Table | None
    time_note: str
    time_tables: tuple[Section, ...]
    themes: tuple[Section, ...]
    probe_table: Section | None
    metric_tables: tuple[Section, ...]
    history: tuple[charts.Chart, ...]
    history_note: str
    probes: probes.ProbeView
    gc: tuple[charts.Chart, ...]
    runs: Table | None
    environments: tuple[EnvironmentBlock, ...]
    scope: str  # what the tables after the verdict show, when not everything


def build(
    results: ResultSet, comparison: Comparison | None, title: str, statistic: str = "p10"
) -> ReportView:
    """The whole view model of one report; `statistic` is what the time table shows."""
    frame = results.frame
    regressed = _regressed_cases(comparison)
    history, history_note = _history_charts(frame, regressed)
    sides = environments.sides(results, comparison)
    if comparison is not None:
        statistic = comparison.thresholds.statistic
    shown, scope = _candidate_side(results, comparison)
    gc_note = {"gc": environments.gc_thresholds(shown.environments)}
    topics = list(themes.theme_sections(shown.frame, gc_note))
    return ReportView(
        title=title,
        version=__version__,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        overview=_overview(frame),
        problems=tuple(str(p) for p in results.problems),
        summary=summary(comparison) if comparison is not None else None,
        verdicts=_verdict_table(comparison) if comparison is not None else None,
        failures=_failure_table(frame),
        time_note=timetable.describe(statistic),
        time_tables=tuple(timetable.time_sections(shown.frame, statistic)),
        themes=tuple(t for t in topics if t.anchor != themes.PROBES),
        probe_table=next((t for t in topics if t.anchor == themes.PROBES), None),
        metric_tables=tuple(_metric_tables(shown.frame)),
        history=history,
        history_note=history_note,
        probes=probes.probe_view(shown.frame),
        gc=tuple(_gc_charts(frame)),
        runs=environments.summary_table(sides),
        environments=tuple(environments.blocks(sides)),
        scope=scope,
    )


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
        f"The tables below show the candidate side ({comparison.candidate_label}) only; "
        "the verdict above compares it with the base."
    )


def case_text(row: Mapping[Any, Any]) -> str:
    """`sharded · lookup-hit · 10000 · random-int (shards=8)`; empty parts left out."""
    parts = [str(row[c]) for c in ("map", "workload", "size", "key_kind") if _present(row.get(c))]
    text = " · ".join(parts) or str(row.get("benchmark", ""))
    return f"{text} ({row['params']})" if row.get("params") else text


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts keyed by column name."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _present(value: Any) -> bool:
    return value is not None and not pd.isna(value) and value != ""


def summary(comparison: Comparison) -> Summary:
    """The verdict first: what regressed, by how much, how sure."""
    rows = comparison.rows
    counts = tuple((v, comparison.count(v), VERDICT_CSS[v]) for v in VERDICT_CSS)
    regressions = _highlights(rows, "regression")
    improvements = _highlights(rows, "improvement")
    noisy = comparison.count("too noisy")
    if regressions:
        worst = regressions[0]
        headline = (
            f"{len(regressions)} regression{'s' if len(regressions) != 1 else ''}; "
            f"worst {worst.change} in {worst.metric} of {worst.case}"
        )
    elif noisy:
        headline = (
            f"No regression found, but {noisy} row{'s' if noisy != 1 else ''} too noisy to judge"
        )
    else:
        headline = "No regression beyond the thresholds"
    unmatched = []
    if len(comparison.only_base):
        unmatched.append(f"{len(comparison.only_base)} only in {comparison.base_label}")
    if len(comparison.only_candidate):
        unmatched.append(f"{len(comparison.only_candidate)} only in {comparison.candidate_label}")
    return Summary(
        base_label=comparison.base_label,
        candidate_label=comparison.candidate_label,
        axis=_axis_text(comparison),
        headline=headline,
        counts=counts,
        regressions=tuple(regressions[:10]),
        improvements=tuple(improvements[:5]),
        more_regressions=max(0, len(regressions) - 10),
        method=comparison.method,
        unmatched="; ".join(unmatched),
        listed=tuple(h for verdict in LISTED_VERDICTS for h in _highlights(rows, verdict)),
    )


def _axis_text(comparison: Comparison) -> str:
    """What differs between the sides, e.g. `python 3.11.7 → 3.12.1`."""
    if not comparison.axis or comparison.rows.empty:
        return ""
    parts = []
    for column in comparison.axis:
        base = _side_value(comparison.base_environments, column)
        cand = _side_value(comparison.candidate_environments, column)
        parts.append(f"{column} {base} → {cand}" if base and cand else column)
    return "; ".join(parts)


def _side_value(envs: Mapping[str, Mapping[str, Any]], column: str) -> str:
    """The one value a side's environments record for `column`, else ""."""
    values = {str(e.get(column)) for e in envs.values() if e.get(column)}
    if len(values) != 1:
        return ""
    value = values.pop()
    return formatting.short_commit(value) if column == "commit" else value


def _highlights(rows: pd.DataFrame, verdict: str) -> list[Highlight]:
    chosen = rows[rows["verdict"] == verdict]
    chosen = chosen.sort_values("ratio", ascending=verdict == "improvement", kind="stable")
    return [
        Highlight(
            verdict=verdict,
            case=case_with_context(row, rows),
            metric=str(row["metric"]),
            change=formatting.change(row["ratio"]),
            interval=formatting.interval(row["ci_low"], row["ci_high"])
            if row["kind"] == "noisy"
            else "",
            certainty=_certainty(row),
            before=formatting.value(row["base"], str(row["unit"])),
            after=formatting.value(row["candidate"], str(row["unit"])),
            note=str(row["note"]),
        )
        for row in _records(chosen)
    ]


def case_with_context(row: Mapping[Any, Any], rows: pd.DataFrame) -> str:
    """The case, plus python/machine when the comparison's rows span several of them."""
    extra = [f"{c} {row[c]}" for c in _SHOWN_CONTEXT if c in rows.columns and rows[c].nunique() > 1]
    return case_text(row) + (f" [{', '.join(extra)}]" if extra else "")


def _certainty(row: Mapping[str, Any]) -> str:
    if row["kind"] != "noisy":
        return "exact (deterministic)"
    n = f"n={row['base_n']}/{row['candidate_n']}"
    return f"q {formatting.probability(row['q_value'])}, {n}"


def _verdict_table(comparison: Comparison) -> Table:
    rows = comparison.rows
    context = [c for c in _SHOWN_CONTEXT if c in rows.columns and rows[c].nunique() > 1]
    order = {v: i for i, v in enumerate(VERDICT_CSS)}
    ranked = rows.assign(_order=rows["verdict"].map(order)).sort_values(
        ["_order", "ratio"], ascending=[True, False], kind="stable"
    )
    headers = (
        "verdict", "case", *context, "metric", "kind",
        comparison.base_label, comparison.candidate_label, "change", "interval", "q", "n", "note",
    )  # fmt: skip
    numeric = tuple(h in ("change", comparison.base_label, comparison.candidate_label, "q", "n")
                    for h in headers)  # fmt: skip
    table_rows = []
    for row in _records(ranked):
        unit = str(row["unit"])
        table_rows.append(
            (
                Cell(str(row["verdict"]), str(order[row["verdict"]]), VERDICT_CSS[row["verdict"]]),
                Cell(case_text(row)),
                *(Cell(str(row[c])) for c in context),
                Cell(str(row["metric"])),
                Cell(str(row["kind"])),
                Cell(formatting.value(row["base"], unit), num(row["base"])),
                Cell(formatting.value(row["candidate"], unit), num(row["candidate"])),
                Cell(formatting.change(row["ratio"]), num(row["ratio"])),
                Cell(formatting.interval(row["ci_low"], row["ci_high"])),
                Cell(formatting.probability(row["q_value"]), num(row["q_value"])),
                Cell(
                    f"{row['base_n']}/{row['candidate_n']}", str(row["base_n"] + row["candidate_n"])
                ),
                Cell(str(row["note"])),
            )
        )
    return Table(headers, tuple(table_rows), numeric)


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


def _failure_table(frame: pd.DataFrame) -> Table | None:
    failed = frame[frame["status"] != "ok"].drop_duplicates(
        ["source", "benchmark", *CASE_COLUMNS, "python", "commit", "status"]
    )
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
        for r in _records(failed.head(500))
    )
    return Table(("status", "case", "python", "commit", "error"), rows, (False,) * 5)


def _metric_tables(frame: pd.DataFrame) -> Iterable[Section]:
    """Every other metric: map x workload rows across Python versions, latest commit of each."""
    ok = frame[
        (frame["status"] == "ok")
        & (frame["metric"] != "")
        & ~frame["metric"].isin(_SHOWN_ELSEWHERE)
        & ~frame["metric"].str.contains(_PROBE_HISTOGRAM)
    ]
    if ok.empty:
        return
    ok = ok.sort_values("commit_date", kind="stable", na_position="first")
    latest = ok.drop_duplicates(
        ["source", "metric", "benchmark", *CASE_COLUMNS, "python"], keep="last"
    )
    for (source, metric, unit, kind), group in latest.groupby(
        ["source", "metric", "unit", "kind"], sort=True
    ):
        pythons = sorted(group["python"].unique(), key=selection.version_key)
        table = group.pivot_table(
            index=list(CASE_COLUMNS),
            columns="python",
            values="value",
            aggfunc="median",
            dropna=False,
        ).dropna(how="all")
        rows = []
        for case, values in zip(table.index, _records(table), strict=True):
            case_map = dict(zip(CASE_COLUMNS, cast(tuple[Any, ...], case), strict=True))
            cells = [
                Cell(str(case_map[c]) if _present(case_map[c]) else "") for c in CASE_COLUMNS[:4]
            ]
            cells[2] = Cell(cells[2].text, num(case_map["size"]) if cells[2].text else "")
            cells.append(Cell(str(case_map["params"])))
            cells += [
                Cell(formatting.value(values.get(p, math.nan), str(unit)), num(values.get(p)))
                for p in pythons
            ]
            rows.append(tuple(cells))
        label = f"{metric} ({source})"
        note = f"{kind}; latest commit per Python; unit {unit or 'none'}"
        if kind == "modelled":
            note = "modelled, not measured; " + note
        headers = (
            "map",
            "workload",
            "size",
            "key kind",
            "params",
            *(f"Python {p}" for p in pythons),
        )
        numeric = (False, False, True, False, False, *(True for _ in pythons))
        yield Section(
            label, selection.anchor("metric", label), note, Table(headers, tuple(rows), numeric)
        )


def _regressed_cases(comparison: Comparison | None) -> set[tuple[Any, ...]]:
    """(metric, workload, size, key_kind, params) of every regression: their histories go first."""
    if comparison is None:
        return set()
    bad = comparison.rows[comparison.rows["verdict"] == "regression"]
    columns = ["metric", "workload", "size", "key_kind", "params"]
    return {tuple(r) for r in bad[columns].itertuples(index=False)}


def _history_charts(
    frame: pd.DataFrame, regressed: set[tuple[Any, ...]]
) -> tuple[tuple[charts.Chart, ...], str]:
    """Value per commit, one line per map x Python; regressed cases first, then the most moved."""
    dated = frame[
        (frame["status"] == "ok") & frame["commit_date"].notna() & (frame["metric"] != "")
    ]
    group_keys = ["source", "metric", "unit", "benchmark", "workload", "size", "key_kind", "params"]
    per_commit = (
        dated.groupby([*group_keys, "map", "python", "commit", "commit_date"], dropna=False)[
            "value"
        ]
        .median()
        .reset_index()
    )
    per_commit = per_commit[per_commit["value"].notna()]
    spans = per_commit.groupby(group_keys, dropna=False).agg(
        commits=("commit", "nunique"), low=("value", "min"), high=("value", "max")
    )
    spans = spans[spans["commits"] >= 2]
    if spans.empty:
        return (), ""
    spans = spans.assign(
        moved=spans["high"] / spans["low"].where(spans["low"] > 0),
        flagged=[(k[1], *k[4:]) in regressed for k in spans.index],
    ).sort_values(["flagged", "moved"], ascending=False, kind="stable")
    chosen = spans.index[:MAX_HISTORY_CHARTS].to_frame(index=False)
    selected = per_commit.merge(chosen, on=group_keys).sort_values("commit_date", kind="stable")
    built = []
    for key, group in selected.groupby(group_keys, dropna=False, sort=False):
        keyed = dict(zip(group_keys, cast(tuple[Any, ...], key), strict=True))
        unit = str(keyed["unit"])
        series = []
        for (map_name, python), line in group.groupby(["map", "python"], sort=True):
            points = [
                (
                    r["commit_date"].timestamp(),
                    float(r["value"]),
                    f"{formatting.short_commit(r['commit'])} {formatting.value(r['value'], unit)}",
                )
                for r in _records(line)
            ]
            series.append((f"{map_name or keyed['benchmark']} · py{python}", points))
        x_labels = sorted(
            {(d.timestamp(), d.strftime("%Y-%m-%d")) for d in group["commit_date"].unique()}
        )
        title = case_text({**keyed, "map": ""})
        built.append(
            charts.line_chart(
                title=f"{keyed['metric']}: {title}",
                subtitle=f"{keyed['source']} · {keyed['benchmark']}",
                series=series,
                x_labels=x_labels,
                unit=unit,
                anchor=selection.anchor("history", f"{keyed['metric']} {title} {keyed['source']}"),
            )
        )
    note = ""
    if len(spans) > len(chosen):
        note = f"{len(chosen)} of {len(spans)} histories shown: regressed first, then most moved."
    return tuple(built), note


def _gc_charts(frame: pd.DataFrame) -> Iterable[charts.Chart]:
    """GC pause distributions: one row per Python (and commit, when several)."""
    mask = frame["metric"].str.startswith("gc_pause") & (frame["n_samples"] >= 2)
    pauses = frame[mask & (frame["status"] == "ok")]
    for n, (key, group) in enumerate(pauses.groupby(["metric", *CASE_COLUMNS], dropna=False)):
        if n >= MAX_GC_CHARTS:
            return
        several = group["commit"].nunique() > 1
        rows: list[tuple[str, Sequence[float]]] = []
        for (python, commit), part in group.groupby(["python", "commit"], sort=True):
            label = f"py{python}" + (f" {formatting.short_commit(str(commit))}" if several else "")
            rows.append((label, [x for s in part["samples"] for x in s]))
        rows.sort(key=lambda r: selection.version_key(r[0][2:].split(" ")[0]))
        keyed = dict(zip(["metric", *CASE_COLUMNS], key, strict=True))
        yield charts.box_chart(
            title=f"{keyed['metric']}: {case_text(keyed)}",
            subtitle="every collection · box: quartiles · whiskers: 5th to 95th percentile",
            rows=rows,
            unit=str(group["unit"].iloc[0]),
            anchor=selection.anchor("gc", f"{keyed['metric']} {case_text(keyed)}"),
        )
