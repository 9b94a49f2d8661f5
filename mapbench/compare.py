"""Compare a baseline against a candidate: one verdict per benchmark case and metric.

Noisy metrics (times, GC pauses) are judged on one statistic and one unit, the worker process
(docs/ci.md has the measurements behind each choice): each process gives one number (a low
percentile of its runs, `--statistic`), and between the sides the change is the Hodges-Lehmann
shift of their logs, tested by Mann-Whitney U, with the interval that test implies
(`mapbench.stats`). Benjamini-Hochberg controls the false-discovery rate over every row compared
at once, and the intervals are widened to match (false-coverage-rate adjustment), so a row is
significant exactly when its interval excludes no change. A regression must also exceed the
minimum effect. Times are judged on one clock: CPU time, unless the work sleeps (wall time minus
CPU time minus the time spent waiting for a core leaves a real remainder) or only wall time was
recorded; waiting for a core is contention, and CPU time is judged however busy the machine.
A side whose CPU times split into modes is judged on its fast mode (the slow one is the
machine's state: `mapbench._noise`). A row that would read "no change" or "inconclusive"
reads "too noisy" when the measurement cannot support it (modes, preempted runs, load, spread).
Deterministic metrics are compared exactly. Modelled numbers are not compared.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mapbench import _noise
from mapbench.case import KEY_COLUMNS, METRIC_COLUMNS
from mapbench.catalog import higher_is_better, is_condition, per_entry
from mapbench.errors import MapbenchError
from mapbench.results import ResultSet
from mapbench.stats import per_process, shift
from mapbench.thresholds import EXIT_TOO_NOISY, STATISTICS, Thresholds

__all__ = [
    "CONTEXT_COLUMNS",
    "EXIT_TOO_NOISY",
    "IDENTITY_COLUMNS",
    "VERDICTS",
    "Comparison",
    "Verdict",
    "compare",
]


class Verdict(str, enum.Enum):
    """A compared row's verdict; its value is the text every output shows (and the frame's
    `verdict` column holds)."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    TOO_NOISY = "too noisy"
    INCONCLUSIVE = "inconclusive"
    NO_CHANGE = "no change"

    def __str__(self) -> str:
        return str(self.value)


# Every verdict, in the order outputs list them.
VERDICTS = tuple(Verdict)
# What identifies a measured quantity, and where/what it was measured on. Not the tool that
# wrote it (`source`): a case measured by `mapbench run` pairs with the same case from `ci`.
IDENTITY_COLUMNS = ("benchmark", *KEY_COLUMNS, *METRIC_COLUMNS)
CONTEXT_COLUMNS = ("python", "machine", "commit", "env")
# The two clocks of the timing loop; one of them is judged per case.
_CLOCKS = ("time", "cpu_time")
# Below this share of wall time, CPU time misses part of the work (it waits): judge wall time.
# With the run-queue delay recorded (results version 4), the share is CPU + run-queue delay:
# only time spent neither on a core nor waiting for one is work CPU time cannot see.
CPU_SHARE = 0.9
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

    interval_level: float = 0.95  # the confidence level of the noisy rows' intervals

    def count(self, verdict: Verdict) -> int:
        return int((self.rows["verdict"] == verdict).sum()) if len(self.rows) else 0

    @property
    def exit_status(self) -> int:
        """For CI: 1 when anything regressed beyond the thresholds, else 4 when a row was too
        noisy to judge (`EXIT_TOO_NOISY`), else 0."""
        if self.count(Verdict.REGRESSION):
            return 1
        return EXIT_TOO_NOISY if self.count(Verdict.TOO_NOISY) else 0

    @property
    def method(self) -> str:
        """How the rows were judged, in one paragraph (for reports)."""
        t = self.thresholds
        clock = (
            "wall time"
            if t.clock == "wall"
            else "CPU time, however busy the machine (wall time where the work sleeps off the "
            "CPU, or is all there is)"
        )
        return (
            f"Times judged on {clock}. Noisy metrics: per worker process the "
            f"{t.statistic} of its runs; change = Hodges-Lehmann shift between the sides with "
            f"its Mann-Whitney interval at {self.interval_level:.2%} (Benjamini-Hochberg "
            f"false-discovery rate {t.alpha:g}, intervals adjusted to match), minimum effect "
            f"{t.min_effect:.0%}; CPU time that splits into modes judged on each side's fast "
            "mode; 'too noisy' when a side splits into modes otherwise, or ran contended "
            "(docs/ci.md). Deterministic metrics: exact comparison"
            + (f" (tolerance {t.deterministic_tolerance:.1%})" if t.deterministic_tolerance else "")
            + f"; whole-run totals may move by {t.byte_tolerance:g} B or {t.block_tolerance:g} "
            "blocks or objects."
        )


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
    case_key = [c for c in key if c not in METRIC_COLUMNS]
    conditions = (
        _noise.conditions(a, case_key, base.environments),
        _noise.conditions(b, case_key, candidate.environments),
    )
    merged = _pooled(_judged(a), key).merge(
        _pooled(_judged(b), key), on=key, how="outer", suffixes=("_a", "_b"), indicator=True
    )
    both = merged[merged["_merge"] == "both"].reset_index(drop=True)
    if both.empty:
        raise MapbenchError(
            f"{base_label} and {candidate_label} share no benchmark case to compare "
            "(different maps, workloads or sizes?)"
        )
    both, clock_notes = _one_clock(both, case_key, thresholds, conditions)
    rows, level = _verdicts(both, key, thresholds, _Context(case_key, conditions, clock_notes))
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
        interval_level=level,
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


def _judged(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that get a verdict: everything but the machine's conditions (load...)."""
    chosen: pd.DataFrame = frame[~frame["metric"].map(is_condition).astype(bool)]
    return chosen


def _pooled(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """One row per key: every value and sample of the side (repeated runs are pooled), and how
    many consecutive samples each worker process took."""
    grouped = frame.groupby(key, dropna=False, sort=True)
    pooled: pd.DataFrame = grouped.agg(
        values=("value", tuple),
        samples=("samples", lambda s: tuple(x for t in s for x in t)),
        groups=("samples", lambda s: _pooled_groups(s, frame.loc[s.index, "groups"])),
        ci_low=("ci_low", "min"),
        ci_high=("ci_high", "max"),
    ).reset_index()
    return pooled


def _pooled_groups(samples: pd.Series, groups: pd.Series) -> tuple[int, ...]:
    """The processes of pooled rows, in order (a row without groups: one process per sample)."""
    return tuple(n for s, g in zip(samples, groups, strict=True) for n in (g or (1,) * len(s)))


def _one_clock(
    both: pd.DataFrame,
    case_key: list[str],
    t: Thresholds,
    conditions: tuple[Mapping[tuple[Any, ...], _noise.Conditions], ...],
) -> tuple[pd.DataFrame, dict[int, str]]:
    """Keep one time row per case: the chosen clock's, or wall time where CPU time is blind.

    CPU time counts only the measuring thread on a core: work that sleeps (other threads, I/O,
    locks) is invisible to it, while time spent waiting for a core (contention) is no part of
    the work at all. Where the run-queue delay was recorded, a case is judged on wall time only
    when, on either side, the median run spent more than 1 - `CPU_SHARE` of its wall time
    asleep (neither on a core nor queued for one); otherwise, CPU time is judged however busy
    the machine was. Older results: wall time where the fastest process's CPU time is below
    `CPU_SHARE` of its wall time on either side. The row says which and why.
    """
    clocks = both[both["metric"].isin(_CLOCKS)]
    drop: list[int] = []
    notes: dict[int, str] = {}
    for case, pair in clocks.groupby(case_key, dropna=False, sort=False):
        by_metric = {m: int(i) for i, m in zip(pair.index, pair["metric"], strict=True)}
        if len(by_metric) < 2:  # one clock recorded (pyperf: wall only): judge it
            continue
        wall, cpu = by_metric["time"], by_metric["cpu_time"]
        share = min(
            _fastest(both.at[cpu, f"samples_{s}"]) / _fastest(both.at[wall, f"samples_{s}"])
            for s in "ab"
        )
        sides = [c.get(tuple(case), _noise.Conditions()) for c in conditions]
        asleep = max(c.asleep for c in sides)
        waiting = max(c.waiting for c in sides)
        if t.clock == "wall":
            drop.append(cpu)
        elif math.isfinite(asleep) and asleep > 1 - CPU_SHARE:
            drop.append(cpu)
            notes[wall] = (
                f"the work sleeps {asleep:.0%} of wall time (neither on a CPU nor waiting for "
                "one: threads, I/O, locks), so wall time is judged"
            )
        elif math.isfinite(asleep):
            drop.append(wall)
            if share < CPU_SHARE:
                notes[cpu] = (
                    f"CPU time is {share:.0%} of wall time and the run waited {waiting:.0%} of "
                    "it for a core (contention, not the work): CPU time is judged"
                )
        elif share < CPU_SHARE:
            drop.append(cpu)
            notes[wall] = (
                f"CPU time is {share:.0%} of wall time: the work waits off the CPU "
                "(threads, I/O; no run-queue delay recorded), so wall time is judged"
            )
        else:
            drop.append(wall)
    kept = both.drop(index=drop)
    index = {old: new for new, old in enumerate(kept.index)}
    return kept.reset_index(drop=True), {index[i]: note for i, note in notes.items()}


def _fastest(samples: Any) -> float:
    """The smallest sample (NaN without samples)."""
    return float(min(samples)) if samples else math.nan


@dataclass(frozen=True)
class _Context:
    """What the noise verdict reads besides the samples: each side's conditions per case, and
    the notes of rows judged on wall time."""

    case_key: list[str]
    conditions: tuple[Mapping[tuple[Any, ...], _noise.Conditions], ...]
    notes: Mapping[int, str]


@dataclass(frozen=True)
class _Pairs:
    """The matched rows' data as plain lists: per row, each side's values and samples."""

    values: tuple[list[tuple[float, ...]], list[tuple[float, ...]]]
    samples: tuple[list[tuple[float, ...]], list[tuple[float, ...]]]
    groups: tuple[list[tuple[int, ...]], list[tuple[int, ...]]]
    intervals: np.ndarray  # per row: base low, base high, candidate low, candidate high

    @classmethod
    def of(cls, both: pd.DataFrame) -> _Pairs:
        return cls(
            values=(both["values_a"].tolist(), both["values_b"].tolist()),
            samples=(both["samples_a"].tolist(), both["samples_b"].tolist()),
            groups=(both["groups_a"].tolist(), both["groups_b"].tolist()),
            intervals=both[["ci_low_a", "ci_high_a", "ci_low_b", "ci_high_b"]].to_numpy(float),
        )

    def processes(self, i: int, side: int, q: float) -> np.ndarray:
        """One number per worker process of a side: the `q`-th percentile of its samples (a
        tool that kept no samples: its recorded values, one per run)."""
        if self.samples[side][i]:
            return per_process(self.samples[side][i], self.groups[side][i], q)
        return np.asarray(self.values[side][i], dtype=float)


def _verdicts(
    both: pd.DataFrame, key: list[str], t: Thresholds, context: _Context
) -> tuple[pd.DataFrame, float]:
    """The verdict frame (key columns, each side's statistic, ratio, interval, p, q, verdict,
    note) and the confidence level of the noisy rows' intervals."""
    out: pd.DataFrame = both[key].copy()
    noisy = (both["kind"] == "noisy").to_numpy()
    result = {
        name: np.full(len(both), math.nan)
        for name in ("base", "candidate", "ratio", "ci_low", "ci_high", "p_value", "q_value")
    }
    result["base_n"] = np.zeros(len(both))
    result["candidate_n"] = np.zeros(len(both))
    notes = [context.notes.get(i, "") for i in range(len(both))]
    pairs = _Pairs.of(both)
    _deterministic(pairs, np.flatnonzero(~noisy), result, notes)
    metrics = both["metric"].tolist(), both["unit"].tolist()
    processes, level = _noisy(pairs, np.flatnonzero(noisy), metrics, t, result, notes)
    for name, values in result.items():
        out[name] = values
    out["base_n"] = out["base_n"].astype("int64")
    out["candidate_n"] = out["candidate_n"].astype("int64")
    columns = ["kind", "metric", "unit", "ratio", "ci_low", "ci_high", "q_value", "base"]
    judged = out.assign(size=out["size"] if "size" in out.columns else math.nan)
    judged = judged[[*columns, "candidate", "size"]]
    verdicts = [_verdict(row, t) for row in judged.itertuples(index=False)]
    for i, (a, b) in processes.items():
        if verdicts[i] in (Verdict.NO_CHANGE, Verdict.INCONCLUSIVE):
            case = tuple(both.loc[i, context.case_key])
            sides = [c.get(case, _noise.Conditions()) for c in context.conditions]
            bounds = (result["ci_low"][i], result["ci_high"][i])
            unit, metric = str(both.at[i, "unit"]), str(both.at[i, "metric"])
            why = _noise.reasons(a, b, sides, bounds, t, unit, metric)
            if why:
                verdicts[i] = Verdict.TOO_NOISY
                notes[i] = "; ".join([*why, notes[i]] if notes[i] else why)
    out["verdict"] = [v.value for v in verdicts]
    out["note"] = notes
    return out, level


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
    pairs: _Pairs,
    rows: np.ndarray,
    metrics: tuple[list[str], list[str]],
    t: Thresholds,
    result: dict[str, np.ndarray],
    notes: list[str],
) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], float]:
    """Per-process statistics (CPU time: each side's fast mode, where it splits), the shift
    test on each row, false-discovery control over all of them, and intervals at the level
    that control implies; returns each tested row's per-process values and that level."""
    q = STATISTICS[t.statistic]
    tested: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    shifts = {}
    for i in (int(r) for r in rows):
        a, b = pairs.processes(i, 0, q), pairs.processes(i, 1, q)
        if metrics[0][i] == "cpu_time":
            a, b, said = _noise.fast_modes(a, b, t.min_samples, metrics[1][i])
            notes[i] = "; ".join(n for n in (said, notes[i]) if n)
        result["base_n"][i], result["candidate_n"][i] = len(a), len(b)
        result["base"][i], result["candidate"][i] = np.median(a), np.median(b)
        result["ratio"][i] = _ratio(result["candidate"][i], result["base"][i])
        if min(len(a), len(b)) >= t.min_samples and min(a) > 0 and min(b) > 0:
            shifts[i] = shift(a, b)
            tested[i] = (a, b)
            result["ratio"][i] = shifts[i].estimate
            result["p_value"][i] = shifts[i].p_value
        elif _asv_intervals(pairs.intervals[i], i, result):
            notes[i] = "too few processes: asv's 99% intervals compared"
        else:
            notes[i] = f"too few processes ({len(a)} vs {len(b)}) or non-positive values"
    if not shifts:
        return tested, 1 - t.alpha
    indices = list(shifts)
    p = result["p_value"][indices]
    q_values = stats.false_discovery_control(p)
    result["q_value"][indices] = q_values
    # Benjamini-Hochberg rejects exactly the rows with p <= alpha * R / m; intervals at that
    # level (Benjamini & Yekutieli's false-coverage-rate adjustment) exclude 1 exactly there.
    rejected = int((q_values <= t.alpha).sum())
    alpha = t.alpha * max(rejected, 1) / len(indices)
    for i in indices:
        result["ci_low"][i], result["ci_high"][i] = shifts[i].interval(alpha)
    return tested, 1 - alpha


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


def _verdict(row: Any, t: Thresholds) -> Verdict:
    """regression / improvement / no change / inconclusive, from the ratio (candidate / base)."""
    ratio = row.ratio
    if math.isnan(ratio):
        return Verdict.INCONCLUSIVE
    if row.unit.lower() in _HIGHER_IS_BETTER_UNITS or higher_is_better(row.metric):
        ratio, ci_low, ci_high = 1 / ratio, 1 / row.ci_high, 1 / row.ci_low
    else:
        ci_low, ci_high = row.ci_low, row.ci_high
    if row.kind != "noisy":
        band = 1 + (
            t.instruction_tolerance if row.metric == "instructions" else t.deterministic_tolerance
        )
        if 1 / band <= ratio <= band or abs(row.candidate - row.base) <= _absolute_allowed(row, t):
            return Verdict.NO_CHANGE
        return _direction(ratio)
    band = 1 + t.min_effect
    if 1 / band <= ratio <= band:
        return Verdict.NO_CHANGE
    # The interval is at the level false-discovery control implies: excluding 1 is q <= alpha.
    significant = ci_low > 1 or ci_high < 1
    return _direction(ratio) if significant else Verdict.INCONCLUSIVE


def _absolute_allowed(row: Any, t: Thresholds) -> float:
    """The change an exact whole-run total of bytes, blocks or objects (the GC's counts of a
    whole process, which one-off objects move) may make (a per-entry figure: divided by the
    entries); -1 for everything compared exactly (per-operation figures)."""
    if row.unit in ("blocks", "objects"):
        return t.block_tolerance
    if row.unit != "B":
        return -1.0
    if per_entry(row.metric):
        return t.byte_tolerance / row.size if pd.notna(row.size) and row.size > 0 else -1.0
    return t.byte_tolerance


def _direction(ratio: float) -> Verdict:
    return Verdict.REGRESSION if ratio > 1 else Verdict.IMPROVEMENT
