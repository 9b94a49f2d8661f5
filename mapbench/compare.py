"""Compare a baseline against a candidate: one verdict per benchmark case and metric.

Noisy metrics (times, GC pauses) get a Mann-Whitney U test (no normality assumed, any sample
counts), Benjamini-Hochberg control of the false-discovery rate across every row compared at
once, and a bootstrap confidence interval of the ratio of a low percentile (10th by default):
on a noisy shared machine the fast end of the distribution is what stays put while bursts
move medians and means (see MEASUREMENT.md). A row is a regression only when the test is
significant after FDR control, the ratio exceeds the minimum effect and its interval excludes 1.
Deterministic metrics are compared exactly. Modelled numbers are not compared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mapbench.errors import MapbenchError
from mapbench.measure.catalog import higher_is_better, per_entry
from mapbench.results import ResultSet
from mapbench.thresholds import STATISTICS, Thresholds

__all__ = [
    "CONTEXT_COLUMNS",
    "IDENTITY_COLUMNS",
    "VERDICTS",
    "Comparison",
    "compare",
]

VERDICTS = ("regression", "improvement", "no change", "inconclusive")
# What identifies a measured quantity, and where/what it was measured on.
IDENTITY_COLUMNS = (
    "source",
    "benchmark",
    "map",
    "workload",
    "size",
    "key_kind",
    "params",
    "metric",
    "unit",
    "kind",
)
CONTEXT_COLUMNS = ("python", "machine", "commit", "env")
# Units where a bigger number is better; everything else (time, bytes, probes) is lower-better.
_HIGHER_IS_BETTER_UNITS = frozenset({"ops/s", "op/s", "1/s", "hz", "items/s"})


@dataclass(frozen=True)
class Comparison:
    """Verdict rows (see docs/report.md for columns) plus what could not be compared."""

    rows: pd.DataFrame
    axis: tuple[str, ...]  # the columns whose value differs between the sides
    base_label: str
    candidate_label: str
    thresholds: Thresholds
    only_base: pd.DataFrame = field(default_factory=pd.DataFrame)
    only_candidate: pd.DataFrame = field(default_factory=pd.DataFrame)
    base_environments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    candidate_environments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def count(self, verdict: str) -> int:
        return int((self.rows["verdict"] == verdict).sum()) if len(self.rows) else 0

    @property
    def exit_status(self) -> int:
        """1 when anything regressed beyond the thresholds, else 0 (for CI)."""
        return 1 if self.count("regression") else 0


def compare(
    base: ResultSet,
    candidate: ResultSet,
    thresholds: Thresholds | None = None,
    base_label: str = "base",
    candidate_label: str = "candidate",
) -> Comparison:
    """Match the sides' rows and give each matched row a verdict."""
    thresholds = thresholds or Thresholds()
    a, b = _comparable(base.frame), _comparable(candidate.frame)
    if a.empty or b.empty:
        side = base_label if a.empty else candidate_label
        raise MapbenchError(f"nothing to compare: {side} has no successful measured results")
    axis = _axis(a, b)
    key = [c for c in (*IDENTITY_COLUMNS, *CONTEXT_COLUMNS) if c not in axis]
    _check_context(a, b, key, base_label, candidate_label)
    merged = _pooled(a, key).merge(
        _pooled(b, key), on=key, how="outer", suffixes=("_a", "_b"), indicator=True
    )
    both = merged[merged["_merge"] == "both"].reset_index(drop=True)
    if both.empty:
        raise MapbenchError(
            f"{base_label} and {candidate_label} share no benchmark case to compare "
            "(different maps, workloads or sizes?)"
        )
    rows = _verdicts(both, key, thresholds)
    return Comparison(
        rows=rows,
        axis=axis,
        base_label=base_label,
        candidate_label=candidate_label,
        thresholds=thresholds,
        only_base=merged.loc[merged["_merge"] == "left_only", key].reset_index(drop=True),
        only_candidate=merged.loc[merged["_merge"] == "right_only", key].reset_index(drop=True),
        base_environments=base.environments,
        candidate_environments=candidate.environments,
    )


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Successful measurements only: failures have nothing to compare, models are not measured."""
    ok = (frame["status"] == "ok") & (frame["kind"] != "modelled") & frame["value"].notna()
    chosen: pd.DataFrame = frame[ok]
    return chosen


def _axis(a: pd.DataFrame, b: pd.DataFrame) -> tuple[str, ...]:
    """Columns with one value per side that differs: what the comparison is about."""
    axis = []
    for column in (*IDENTITY_COLUMNS, *CONTEXT_COLUMNS):
        va, vb = a[column].unique(), b[column].unique()
        if len(va) == 1 and len(vb) == 1 and not _same(va[0], vb[0]):
            axis.append(column)
    return tuple(axis)


def _same(x: Any, y: Any) -> bool:
    return bool((pd.isna(x) and pd.isna(y)) or x == y)


def _check_context(a: pd.DataFrame, b: pd.DataFrame, key: Sequence[str], la: str, lb: str) -> None:
    """Refuse sides that share no python/machine/commit at all: nothing would match silently."""
    for column in CONTEXT_COLUMNS:
        if column in key and not set(a[column]) & set(b[column]):
            raise MapbenchError(
                f"{la} has {a[column].nunique()} values of {column!r} and {lb} "
                f"{b[column].nunique()}, none in common: select one per side, e.g. {column}=..."
            )


def _pooled(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """One row per key: every value and sample of the side (repeated runs are pooled)."""
    grouped = frame.groupby(key, dropna=False, sort=True)
    pooled: pd.DataFrame = grouped.agg(
        values=("value", tuple),
        samples=("samples", lambda s: tuple(x for t in s for x in t)),
        ci_low=("ci_low", "min"),
        ci_high=("ci_high", "max"),
    ).reset_index()
    return pooled


@dataclass(frozen=True)
class _Pairs:
    """The matched rows' data as plain lists: per row, each side's values and samples."""

    values: tuple[list[tuple[float, ...]], list[tuple[float, ...]]]
    samples: tuple[list[tuple[float, ...]], list[tuple[float, ...]]]
    intervals: np.ndarray  # per row: base low, base high, candidate low, candidate high

    @classmethod
    def of(cls, both: pd.DataFrame) -> _Pairs:
        return cls(
            values=(both["values_a"].tolist(), both["values_b"].tolist()),
            samples=(both["samples_a"].tolist(), both["samples_b"].tolist()),
            intervals=both[["ci_low_a", "ci_high_a", "ci_low_b", "ci_high_b"]].to_numpy(float),
        )

    def observations(self, i: int, side: int) -> tuple[float, ...]:
        """A side's samples, or its recorded values when the tool kept no samples."""
        return self.samples[side][i] or self.values[side][i]


def _verdicts(both: pd.DataFrame, key: list[str], t: Thresholds) -> pd.DataFrame:
    """The verdict frame: key columns, the compared statistic of each side, ratio, CI, p, q."""
    out: pd.DataFrame = both[key].copy()
    noisy = (both["kind"] == "noisy").to_numpy()
    result = {
        name: np.full(len(both), math.nan)
        for name in ("base", "candidate", "ratio", "ci_low", "ci_high", "p_value", "q_value")
    }
    result["base_n"] = np.zeros(len(both))
    result["candidate_n"] = np.zeros(len(both))
    notes = [""] * len(both)
    pairs = _Pairs.of(both)
    _deterministic(pairs, np.flatnonzero(~noisy), result, notes)
    _noisy(pairs, np.flatnonzero(noisy), t, result, notes)
    for name, values in result.items():
        out[name] = values
    out["base_n"] = out["base_n"].astype("int64")
    out["candidate_n"] = out["candidate_n"].astype("int64")
    columns = ["kind", "metric", "unit", "ratio", "ci_low", "ci_high", "q_value", "base"]
    judged = out.assign(size=out["size"] if "size" in out.columns else math.nan)
    judged = judged[[*columns, "candidate", "size"]]
    out["verdict"] = [_verdict(row, t) for row in judged.itertuples(index=False)]
    out["note"] = notes
    return out


def _deterministic(
    pairs: _Pairs, rows: np.ndarray, result: dict[str, np.ndarray], notes: list[str]
) -> None:
    """Exact comparison: the value (and any detail such as a histogram) is equal or it is not."""
    for i in rows:
        va, vb = pairs.values[0][i], pairs.values[1][i]
        result["base"][i], result["candidate"][i] = float(np.median(va)), float(np.median(vb))
        result["base_n"][i], result["candidate_n"][i] = len(va), len(vb)
        result["ratio"][i] = _ratio(result["candidate"][i], result["base"][i])
        if len(set(va)) > 1 or len(set(vb)) > 1:
            notes[i] = "varies between runs of one side: not deterministic?"
        elif va[0] != vb[0]:
            notes[i] = f"exact: {va[0]:.6g} -> {vb[0]:.6g}"
        elif pairs.samples[0][i] != pairs.samples[1][i]:
            notes[i] = "same value, different distribution"


def _noisy(
    pairs: _Pairs, rows: np.ndarray, t: Thresholds, result: dict[str, np.ndarray], notes: list[str]
) -> None:
    """Batched statistics: rows with equal sample counts are tested in one vectorised call."""
    q = STATISTICS[t.statistic]
    batches: dict[tuple[int, int], list[int]] = {}
    for i in (int(r) for r in rows):
        sa, sb = pairs.observations(i, 0), pairs.observations(i, 1)
        result["base_n"][i], result["candidate_n"][i] = len(sa), len(sb)
        result["base"][i] = np.percentile(sa, q)
        result["candidate"][i] = np.percentile(sb, q)
        result["ratio"][i] = _ratio(result["candidate"][i], result["base"][i])
        if min(len(sa), len(sb)) >= t.min_samples and min(sa) > 0 and min(sb) > 0:
            batches.setdefault((len(sa), len(sb)), []).append(i)
        elif _asv_intervals(pairs.intervals[i], i, result):
            notes[i] = "too few samples: asv's 99% intervals compared"
        else:
            notes[i] = f"too few samples ({len(sa)} vs {len(sb)}) or non-positive values"
    rng = np.random.default_rng(t.seed)
    band = 1 + t.min_effect
    for indices in batches.values():
        xa = np.array([pairs.observations(i, 0) for i in indices])
        xb = np.array([pairs.observations(i, 1) for i in indices])
        p = stats.mannwhitneyu(xa, xb, alternative="two-sided", axis=-1).pvalue
        result["p_value"][indices] = np.where(np.isnan(p), 1.0, p)
        # Intervals only where the verdict depends on them: a ratio inside the no-change band
        # is "no change" whatever its interval, and resampling every row is the slow part.
        ratios = result["ratio"][indices]
        outside = np.flatnonzero((ratios > band) | (ratios < 1 / band))
        if outside.size:
            low, high = _bootstrap_interval(xa[outside], xb[outside], q, t, rng)
            chosen = [indices[j] for j in outside]
            result["ci_low"][chosen], result["ci_high"][chosen] = low, high
    tested = ~np.isnan(result["p_value"])
    if tested.any():
        result["q_value"][tested] = stats.false_discovery_control(result["p_value"][tested])


def _bootstrap_interval(
    xa: np.ndarray, xb: np.ndarray, q: float, t: Thresholds, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap interval of the percentile ratio, for rows of equal sample counts at once."""

    def log_ratio(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.log(np.percentile(b, q, axis=axis) / np.percentile(a, q, axis=axis)))

    with warnings.catch_warnings():
        # identical samples make a degenerate bootstrap distribution: the interval is the point
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        boot = stats.bootstrap(
            (xa, xb),
            log_ratio,
            n_resamples=t.resamples,
            confidence_level=t.confidence,
            method="percentile",
            vectorized=True,
            axis=-1,
            rng=rng,
        )
    return np.exp(boot.confidence_interval.low), np.exp(boot.confidence_interval.high)


def _asv_intervals(bounds: np.ndarray, i: int, result: dict[str, np.ndarray]) -> bool:
    """asv's own fallback without samples: significant when the 99% intervals do not overlap."""
    if np.isnan(bounds).any():
        return False
    al, ah, bl, bh = (float(b) for b in bounds)
    # the interval of the ratio implied by the two intervals; it excludes 1 iff they don't overlap
    result["ci_low"][i], result["ci_high"][i] = _ratio(bl, ah), _ratio(bh, al)
    result["q_value"][i] = 0.0 if bl > ah or bh < al else 1.0
    return True


def _ratio(candidate: float, base: float) -> float:
    """candidate / base, where 0 -> 0 is no change and 0 -> x an unbounded change."""
    if base:
        return candidate / base
    return 1.0 if candidate == base else math.copysign(math.inf, candidate)


def _verdict(row: Any, t: Thresholds) -> str:
    """regression / improvement / no change / inconclusive, from the ratio (candidate / base)."""
    ratio = row.ratio
    if math.isnan(ratio):
        return "inconclusive"
    if row.unit.lower() in _HIGHER_IS_BETTER_UNITS or higher_is_better(row.metric):
        ratio, ci_low, ci_high = 1 / ratio, 1 / row.ci_high, 1 / row.ci_low
    else:
        ci_low, ci_high = row.ci_low, row.ci_high
    if row.kind != "noisy":
        band = 1 + (
            t.instruction_tolerance if row.metric == "instructions" else t.deterministic_tolerance
        )
        if 1 / band <= ratio <= band or abs(row.candidate - row.base) <= _absolute_allowed(row, t):
            return "no change"
        return _direction(ratio)
    band = 1 + t.min_effect
    if 1 / band <= ratio <= band:
        return "no change"
    significant = row.q_value < t.alpha and (ci_low > 1 or ci_high < 1)
    return _direction(ratio) if significant else "inconclusive"


def _absolute_allowed(row: Any, t: Thresholds) -> float:
    """The change an exact whole-run total of bytes or blocks may make (a per-entry figure:
    divided by the entries); -1 for everything compared exactly (per-operation figures)."""
    if row.unit == "blocks":
        return t.block_tolerance
    if row.unit != "B":
        return -1.0
    if per_entry(row.metric):
        return t.byte_tolerance / row.size if pd.notna(row.size) and row.size > 0 else -1.0
    return t.byte_tolerance


def _direction(ratio: float) -> str:
    return "regression" if ratio > 1 else "improvement"
