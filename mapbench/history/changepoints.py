"""Change points of every case and metric over the commit sequence.

Deterministic metrics (probe lengths, allocation counts) change exactly where their value
changes: every such commit is a change point, magnitude exact. Noisy ones (times) go through
ruptures' kernel change-point detection (KernelCPD, rbf kernel on log values, PELT search,
penalty 3), chosen by measurement over Apache Otava and ruptures' other detectors
(scripts/changepoint_choice.py, docs/history.md); long series are searched in overlapping
windows so the cost grows linearly. Each candidate is then confirmed: the ratio of the medians
of the segments on either side (at most 30 commits each) must leave the no-change band
(`Thresholds.min_effect`) and so must its 95% bootstrap interval.

Time is a series per machine (one machine's numbers are not another's) unless asked to pool
machines; deterministic metrics are one series across machines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mapbench.history.points import with_points
from mapbench.thresholds import Thresholds

# What identifies one series; `machine` is dropped for deterministic metrics (and on request).
SERIES_KEYS = (
    "source", "machine", "python", "benchmark", "map", "workload", "key_kind", "size", "params",
    "metric", "unit", "kind",
)  # fmt: skip
# The columns issue 18's history charts read, first; the rest describe the change further.
COLUMNS = (
    "map", "workload", "key_kind", "size", "metric", "commit", "commit_before", "magnitude",
    "low", "high", "python", "machine", "source", "benchmark", "params", "unit", "kind",
    "before", "after", "commits_between", "method", "note",
)  # fmt: skip
PENALTY = 3.0  # KernelCPD rbf penalty, measured (docs/history.md)
MIN_SIZE = 2  # commits on each side of a change at least
WINDOW = 120  # longer series are searched in windows this long, half overlapping
SEGMENT_CAP = 30  # commits on each side that measure a change's magnitude
RESAMPLES = 1000


@dataclass(frozen=True)
class Series:
    """One case and metric over commits, oldest first (one point per commit)."""

    key: dict[str, Any]
    commits: list[str]
    values: np.ndarray
    positions: list[int | None]
    varies: list[bool]  # a deterministic metric that took several values at this commit


def change_points(
    points: pd.DataFrame,
    commits: pd.DataFrame | None = None,
    *,
    thresholds: Thresholds | None = None,
    across_machines: bool = False,
) -> pd.DataFrame:
    """Every change point of every series in `points`: a tidy frame (`ResultSet.frame`), or
    one that already has the `point` column (`open_points`).

    `commits` (commit, commit_date, position) orders the commits; without positions, commit
    dates do. Returns one row per change point with the columns in `COLUMNS`.
    """
    thresholds = thresholds or Thresholds()
    if not points.empty and "point" not in points.columns:
        points = with_points(points[points["status"] == "ok"])
    rows: list[dict[str, Any]] = []
    for series in build_series(points, commits, across_machines=across_machines):
        deterministic = series.key["kind"] != "noisy"
        found = (
            _exact(series, thresholds) if deterministic else detect_noisy(series.values, thresholds)
        )
        for index, magnitude, low, high in found:
            rows.append(_row(series, index, magnitude, low, high, deterministic))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["size"] = frame["size"].astype("Int64")
    frame["commits_between"] = frame["commits_between"].astype("Int64")
    ordered: pd.DataFrame = frame.sort_values(
        ["metric", "map", "workload", "key_kind", "size"], kind="stable"
    )
    return ordered


def build_series(
    points: pd.DataFrame, commits: pd.DataFrame | None, *, across_machines: bool = False
) -> Iterable[Series]:
    """Each case and metric as one series of per-commit medians, in commit order."""
    if points.empty:
        return
    frame = points[(points["commit"] != "") & points["point"].notna()].copy()
    if frame.empty:
        return
    frame["python"] = frame["python"].map({v: _minor(v) for v in frame["python"].unique()})
    order = _order(frame, commits)
    frame = frame[frame["commit"].isin(order.index)]
    deterministic = frame["kind"] != "noisy"
    if not across_machines:
        frame.loc[deterministic, "machine"] = ""
    else:
        frame["machine"] = ""
    keys = list(SERIES_KEYS)
    per_commit = (
        frame.groupby([*keys, "commit"], dropna=False, sort=False)["point"]
        .agg(["median", "min", "max"])
        .reset_index()
    )
    per_commit["rank"] = per_commit["commit"].map(order["rank"])
    per_commit["position"] = per_commit["commit"].map(order["position"])
    per_commit["series"] = per_commit.groupby(keys, dropna=False, sort=True).ngroup()
    per_commit = per_commit.sort_values(["series", "rank"], kind="stable")
    ids = per_commit["series"].to_numpy()
    bounds = np.flatnonzero(np.diff(ids)) + 1
    starts, stops = np.r_[0, bounds], np.r_[bounds, len(ids)]
    values = per_commit["median"].to_numpy(dtype=np.float64)
    varies = (per_commit["min"] != per_commit["max"]).to_numpy()
    commits_col = per_commit["commit"].to_numpy()
    positions = per_commit["position"].astype("Int64").to_numpy(dtype=object, na_value=None)
    heads = per_commit[keys].to_numpy(dtype=object)
    for start, stop in zip(starts, stops, strict=True):
        if stop - start < 2:
            continue
        yield Series(
            dict(zip(keys, heads[start], strict=True)),
            commits_col[start:stop].tolist(),
            values[start:stop],
            positions[start:stop].tolist(),
            varies[start:stop].tolist(),
        )


def _minor(version: str) -> str:
    """3.12.1 -> 3.12: one series per Python version, as asv names them."""
    return ".".join(version.split(".")[:2])


def _order(frame: pd.DataFrame, commits: pd.DataFrame | None) -> pd.DataFrame:
    """rank and position per commit: first-parent positions when every commit has one."""
    dated = frame.groupby("commit")["commit_date"].min().to_frame()
    dated["position"] = pd.array([None] * len(dated), dtype="Int64")
    if commits is not None and not commits.empty:
        known = commits.set_index("commit")
        common = dated.index.intersection(known.index)
        dated.loc[common, "position"] = known.loc[common, "position"].astype("Int64")
        missing = dated.index[dated["commit_date"].isna() & dated.index.isin(common)]
        if len(missing):
            dated.loc[missing, "commit_date"] = pd.to_datetime(
                known.loc[missing, "commit_date"], utc=True
            )
    if dated["position"].notna().all():
        dated["rank"] = dated["position"].astype("int64")
    else:
        dated = dated[dated["commit_date"].notna()]
        dated["rank"] = dated["commit_date"].rank(method="first").astype("int64")
    return dated


def _exact(series: Series, t: Thresholds) -> list[tuple[int, float, float, float]]:
    """Every commit whose value differs from the previous one (beyond the exact tolerance)."""
    v = series.values
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(v[:-1] == v[1:], 1.0, v[1:] / v[:-1])
    changed = np.flatnonzero(np.abs(ratios - 1) > t.deterministic_tolerance) + 1
    return [
        (int(i), float(ratios[i - 1]), float(ratios[i - 1]), float(ratios[i - 1])) for i in changed
    ]


def detect_noisy(
    values: np.ndarray, t: Thresholds | None = None
) -> list[tuple[int, float, float, float]]:
    """(index, magnitude, low, high) of each kernel change point that clears the band.

    The index is that of the first value after the change; the bootstrap is seeded
    (`Thresholds.seed`), so the same series gives the same intervals.
    """
    t = t or Thresholds()
    rng = np.random.default_rng(t.seed)
    if len(values) < 2 * MIN_SIZE or np.any(values <= 0):
        return []
    logs = np.log(values)
    candidates = _kernel_candidates(logs)
    band = 1 + t.min_effect
    for _ in range(len(candidates) + 1):
        measured = [_magnitude(values, candidates, j, rng, t) for j in range(len(candidates))]
        weak = [
            j
            for j, (ratio, low, high) in enumerate(measured)
            if 1 / band <= ratio <= band or low <= 1 <= high
        ]
        if not weak:
            return [(c, *m) for c, m in zip(candidates, measured, strict=True)]
        # Drop the weakest and measure the rest again: its neighbours' segments grow.
        weakest = min(weak, key=lambda j: abs(math.log(measured[j][0])))
        candidates = candidates[:weakest] + candidates[weakest + 1 :]
    return []


def _kernel_candidates(logs: np.ndarray) -> list[int]:
    """ruptures KernelCPD (rbf) over the series, or over half-overlapping windows of it."""
    import ruptures

    def detect(part: np.ndarray) -> list[int]:
        if len(part) < 2 * MIN_SIZE or np.ptp(part) == 0:
            return []
        algo = ruptures.KernelCPD(kernel="rbf", min_size=MIN_SIZE).fit(part.reshape(-1, 1))
        return [int(e) for e in algo.predict(pen=PENALTY)[:-1]]

    n = len(logs)
    if n <= WINDOW:
        return detect(logs)
    found: set[int] = set()
    step = WINDOW // 2
    for start in range(0, n - step, step):
        end = min(start + WINDOW, n)
        low = start + WINDOW // 4 if start else 0  # keep what lies in the window's middle
        high = start + 3 * WINDOW // 4 if end < n else n
        found |= {start + i for i in detect(logs[start:end]) if low <= start + i < high}
    return sorted(found)


def _magnitude(
    values: np.ndarray, cuts: list[int], j: int, rng: np.random.Generator, t: Thresholds
) -> tuple[float, float, float]:
    """Ratio of medians after / before change `j`, with its bootstrap interval."""
    start = cuts[j - 1] if j else 0
    stop = cuts[j + 1] if j + 1 < len(cuts) else len(values)
    before = values[max(start, cuts[j] - SEGMENT_CAP) : cuts[j]]
    after = values[cuts[j] : min(stop, cuts[j] + SEGMENT_CAP)]
    ratio = float(np.median(after) / np.median(before))
    boot_before = np.median(before[rng.integers(0, len(before), (RESAMPLES, len(before)))], axis=1)
    boot_after = np.median(after[rng.integers(0, len(after), (RESAMPLES, len(after)))], axis=1)
    tail = 50 * (1 - t.confidence)
    low, high = np.percentile(boot_after / boot_before, [tail, 100 - tail])
    return ratio, float(low), float(high)


def _row(
    series: Series, i: int, magnitude: float, low: float, high: float, deterministic: bool
) -> dict[str, Any]:
    key = series.key
    before, after = series.positions[i - 1], series.positions[i]
    varies = series.varies[i - 1] or series.varies[i]
    return {
        **{c: key[c] for c in COLUMNS if c in key},
        "commit": series.commits[i],
        "commit_before": series.commits[i - 1],
        "magnitude": magnitude,
        "low": low,
        "high": high,
        "before": float(series.values[i - 1]),
        "after": float(series.values[i]),
        "commits_between": None if before is None or after is None else after - before,
        "method": "exact" if deterministic else "kernel",
        "note": "the value differs between runs of one commit" if deterministic and varies else "",
    }


__all__ = ["COLUMNS", "SERIES_KEYS", "Series", "build_series", "change_points", "detect_noisy"]
