"""A comparison for people: the headline, the changes worth listing, and the table of every row.

Every verdict other than "no change" is listed, whatever its name (regressions first), each with
its absolute values before and after. Rows of exact metrics that describe one table state (probe
lengths after insert, lookup-hit and lookup-miss) are one change, listed once with every
workload. The headline's "worst" is chosen among robust metrics (times, allocations, memory)
before anything else: a longest probe moving by one is not the news of a pull request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from mapbench.reports.tables import Cell, Table, case_text, metric_title, num

from mapbench import catalog, formatting
from mapbench.compare import Comparison, Verdict

VERDICT_CSS: dict[str, str] = {
    Verdict.REGRESSION: "bad",
    Verdict.IMPROVEMENT: "good",
    Verdict.NO_CHANGE: "same",
    Verdict.INCONCLUSIVE: "unsure",
}
# Context shown next to a case when a comparison spans several values (env follows python).
SHOWN_CONTEXT = ("python", "machine")
ROBUST_SOURCES = frozenset({"timing", "instructions", "tracemalloc", "blocks", "memory"})
_ROBUST_UNITS = frozenset({"s", "B"})  # other tools' metrics: times and bytes


@dataclass(frozen=True)
class Highlight:
    """One listed change: what, how much (before -> after, change, interval) and how sure."""

    verdict: str
    css: str
    case: str
    metric: str
    before: str
    after: str
    change: str
    interval: str
    certainty: str
    href: str  # the verdict table's row
    note: str = ""  # a noisy row's note: why it is too noisy, too few processes, which clock


@dataclass(frozen=True)
class VerdictGroup:
    verdict: str
    css: str
    count: int  # distinct changes, of which `rows` are listed
    rows: tuple[Highlight, ...]


@dataclass(frozen=True)
class Summary:
    base_label: str
    candidate_label: str
    axis: str
    headline: str
    counts: tuple[tuple[str, int, str], ...]  # verdict, distinct changes, css class
    groups: tuple[VerdictGroup, ...]  # every verdict but "no change", regressions first
    method: str
    unmatched: str

    @property
    def regressed(self) -> bool:
        return any(g.verdict == Verdict.REGRESSION and g.count for g in self.groups)

    @property
    def too_noisy(self) -> int:
        """Rows too noisy to judge (exit status 4 of compare and ci)."""
        return sum(g.count for g in self.groups if g.verdict == Verdict.TOO_NOISY)


def css(verdict: str) -> str:
    return VERDICT_CSS.get(verdict, "unsure")


def ordered_verdicts(present: Sequence[str]) -> list[str]:
    """regression, improvement, then any other verdict (a new one too), "no change" last."""
    known = [v for v in VERDICT_CSS if v != Verdict.NO_CHANGE]
    others = sorted(set(present) - set(VERDICT_CSS))
    return [*known[:2], *others, *known[2:], Verdict.NO_CHANGE]


def row_id(position: int) -> str:
    """The id of the verdict table's row of `comparison.rows.iloc[position]`."""
    return f"cmp-{position}"


def case_with_context(row: Mapping[Any, Any], rows: pd.DataFrame) -> str:
    """The case, plus python/machine when the comparison's rows span several of them."""
    extra = [f"{c} {row[c]}" for c in SHOWN_CONTEXT if c in rows.columns and rows[c].nunique() > 1]
    return case_text(row) + (f" [{', '.join(extra)}]" if extra else "")


def robust(metric: str, unit: str) -> bool:
    """Times, allocations and memory: what a headline may name as the worst change."""
    try:
        return catalog.info(metric).source in ROBUST_SOURCES
    except KeyError:
        return unit in _ROBUST_UNITS


def summary(comparison: Comparison, limit: int | None = 10) -> Summary:
    """The verdict first: what changed, by how much, how sure; at most `limit` rows a verdict
    (None: every row)."""
    rows = comparison.rows.reset_index(drop=True)
    present = list(dict.fromkeys(rows["verdict"]))
    order = ordered_verdicts(present)
    distinct = _distinct(rows)
    counted = distinct["verdict"].value_counts()
    counts = tuple(
        (v, int(counted.get(v, 0)), css(v)) for v in order if v in VERDICT_CSS or v in present
    )
    groups = []
    for verdict in order:
        if verdict == Verdict.NO_CHANGE or verdict not in present:
            continue
        chosen = _ranked(distinct[distinct["verdict"] == verdict], verdict)
        shown = chosen if limit is None else chosen.head(limit)
        listed = tuple(_highlight(r, rows) for r in _records(shown))
        groups.append(VerdictGroup(verdict, css(verdict), len(chosen), listed))
    regressions = next((g for g in groups if g.verdict == Verdict.REGRESSION), None)
    if regressions is not None and regressions.rows:
        worst = regressions.rows[0]
        headline = (
            f"{regressions.count} regression{'s' if regressions.count != 1 else ''}; worst "
            f"{worst.change} ({worst.before} → {worst.after}) in {worst.metric} of {worst.case}"
        )
    elif comparison.count(Verdict.TOO_NOISY):
        noisy = comparison.count(Verdict.TOO_NOISY)
        headline = (
            f"No regression found, but {noisy} row{'s' if noisy != 1 else ''} too noisy to judge"
        )
    else:
        headline = "No regression beyond the thresholds"
    return Summary(
        base_label=comparison.base_label,
        candidate_label=comparison.candidate_label,
        axis=_axis_text(comparison),
        headline=headline,
        counts=counts,
        groups=tuple(groups),
        method=_method(comparison),
        unmatched=_unmatched(comparison),
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], frame.to_dict("records"))


_MERGED = ("workload", "python", "env")  # exact rows equal but for these are one change


def _distinct(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct change: exact rows equal but for the workload or Python (one table
    state, measured after several workloads or on several Pythons) are merged, listing each;
    `position` keeps each row's place in the comparison for links."""
    keyed = rows.assign(position=range(len(rows)))
    exact = keyed["kind"] != "noisy"
    merged_columns = [c for c in _MERGED if c in rows.columns]
    same = [c for c in rows.columns if c not in (*merged_columns, "benchmark", "note")]
    if exact.any():
        joined = {c: (c, _joined) for c in merged_columns}
        merged = (
            keyed[exact]
            .groupby(same, dropna=False, sort=False)
            .agg(**joined, position=("position", "min"))
            .reset_index()
        )
        keyed = pd.concat([keyed[~exact], merged], ignore_index=True)
    ordered: pd.DataFrame = keyed.sort_values("position", kind="stable")
    return ordered


def _joined(values: pd.Series[Any]) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(values) if v != "")


def _ranked(rows: pd.DataFrame, verdict: str) -> pd.DataFrame:
    """Robust metrics first, then the biggest change in the verdict's direction."""
    ratio = rows["ratio"].astype(float)
    if verdict == Verdict.REGRESSION:
        severity = -ratio
    elif verdict == Verdict.IMPROVEMENT:
        severity = ratio
    else:
        severity = -ratio.map(lambda r: abs(math.log(r)) if r > 0 and math.isfinite(r) else 0.0)
    fragile = [
        not robust(str(m), str(u)) for m, u in zip(rows["metric"], rows["unit"], strict=True)
    ]
    ranked: pd.DataFrame = rows.assign(_fragile=fragile, _severity=severity).sort_values(
        ["_fragile", "_severity"], kind="stable"
    )
    return ranked


def _highlight(row: Mapping[str, Any], rows: pd.DataFrame) -> Highlight:
    unit = str(row["unit"])
    noisy = row["kind"] == "noisy"
    change, interval = formatting.change_and_interval(
        row["ratio"], row["ci_low"] if noisy else math.nan, row["ci_high"] if noisy else math.nan
    )
    if not noisy:  # an exact change reads as the amount it moved: "+1 alloc/op", "+88 B"
        change = formatting.difference(row["base"], row["candidate"], unit)
    return Highlight(
        verdict=str(row["verdict"]),
        css=css(str(row["verdict"])),
        case=case_with_context(row, rows),
        metric=metric_title(str(row["metric"])),
        before=formatting.value(row["base"], unit),
        after=formatting.value(row["candidate"], unit),
        change=change,
        interval=interval if noisy and interval != formatting.MISSING else "",
        certainty=_certainty(row),
        href=row_id(int(row["position"])),
        note=str(row["note"]) if noisy else "",
    )


def _certainty(row: Mapping[str, Any]) -> str:
    if row["kind"] != "noisy":
        return "exact (deterministic)"
    return f"q {formatting.probability(row['q_value'])}, n={row['base_n']}/{row['candidate_n']}"


def _method(comparison: Comparison) -> str:
    return (
        f"{comparison.method} Changes read candidate / base: +10% is 1.1 times the base, "
        f"{formatting.TIMES}3.2 is 3.2 times."
    )


def _unmatched(comparison: Comparison) -> str:
    parts = []
    if len(comparison.only_base):
        parts.append(f"{len(comparison.only_base)} only in {comparison.base_label}")
    if len(comparison.only_candidate):
        parts.append(f"{len(comparison.only_candidate)} only in {comparison.candidate_label}")
    return "; ".join(parts)


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


def verdict_table(comparison: Comparison) -> Table:
    """Every compared row: verdict, change, interval and q first (they must fit the page)."""
    rows = comparison.rows.reset_index(drop=True)
    context = [c for c in SHOWN_CONTEXT if c in rows.columns and rows[c].nunique() > 1]
    order = {v: i for i, v in enumerate(ordered_verdicts(list(rows["verdict"].unique())))}
    ranked = rows.assign(_order=rows["verdict"].map(order), position=range(len(rows)))
    ranked = ranked.sort_values(["_order", "ratio"], ascending=[True, False], kind="stable")
    headers = ("verdict", "change", "interval", "q", "case", *context, "metric",
               "base", "candidate", "n", "note")  # fmt: skip
    numeric = tuple(h in ("change", "q", "base", "candidate", "n") for h in headers)
    column_css = tuple(
        {"case": "case", "metric": "wrap", "note": "wrap"}.get(h, "") for h in headers
    )
    titles = tuple(_HEADER_TITLES.get(h, "") for h in headers)
    titles = tuple(
        f"{h}: {comparison.base_label if h == 'base' else comparison.candidate_label}"
        if h in ("base", "candidate") else t
        for h, t in zip(headers, titles, strict=True)
    )  # fmt: skip
    body = tuple(_verdict_row(row, order, context) for row in _records(ranked))
    return Table(
        headers, body, numeric, column_css=column_css,
        row_ids=tuple(row_id(int(p)) for p in ranked["position"]),
        header_titles=titles, footer=_geomean_rows(rows, len(headers)),
    )  # fmt: skip


_HEADER_TITLES = {
    "change": "candidate / base of the compared statistic",
    "interval": "interval of the change (Mann-Whitney, at the level false-discovery control sets)",
    "q": "false-discovery-adjusted p-value (Benjamini-Hochberg)",
    "n": "worker processes (noisy metrics) or values: base / candidate",
}


def _verdict_row(
    row: Mapping[str, Any], order: Mapping[str, int], context: Sequence[str]
) -> tuple[Cell, ...]:
    unit = str(row["unit"])
    verdict = str(row["verdict"])
    change, interval = formatting.change_and_interval(row["ratio"], row["ci_low"], row["ci_high"])
    return (
        Cell(verdict, str(order[verdict]), css(verdict)),
        Cell(change, num(row["ratio"])),
        Cell(interval, num(row["ci_low"])),
        Cell(formatting.probability(row["q_value"]), num(row["q_value"])),
        Cell(case_text(row)),
        *(Cell(str(row[c])) for c in context),
        Cell(metric_title(str(row["metric"])), title=str(row["metric"])),
        Cell(formatting.value(row["base"], unit), num(row["base"])),
        Cell(formatting.value(row["candidate"], unit), num(row["candidate"])),
        Cell(f"{row['base_n']}/{row['candidate_n']}", str(row["base_n"] + row["candidate_n"])),
        Cell(str(row["note"])),
    )


def _geomean_rows(rows: pd.DataFrame, width: int) -> tuple[tuple[Cell, ...], ...]:
    """Per timing metric compared on two or more rows: the geometric mean of its changes."""
    out = []
    for metric, part in rows.groupby("metric", sort=True):
        try:
            if catalog.info(str(metric)).source != "timing":
                continue
        except KeyError:
            continue
        ratios = part["ratio"][(part["ratio"] > 0) & part["ratio"].map(math.isfinite)]
        if len(ratios) < 2:
            continue
        mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        label = f"geometric mean of {len(ratios)} rows: {metric_title(str(metric))}"
        cells = [Cell("all"), Cell(formatting.change(mean), num(mean)), Cell(""), Cell(""),
                 Cell(label)]  # fmt: skip
        out.append(tuple(cells + [Cell("")] * (width - len(cells))))
    return tuple(out)
