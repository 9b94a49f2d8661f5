"""The one place intervals and tests are computed: compare's verdicts, the report's time cells
and findings, and history's change points all use these.

- `per_process`: the unit is the worker process, one number per process;
- `shift`: between two sides, a Mann-Whitney test and the Hodges-Lehmann shift it implies, with
  the interval of that same test (verdicts, findings, change points);
- `median_interval`: one side alone, the median of its per-process numbers with the
  distribution-free interval order statistics give (the report's time cells);
- `rate_interval`: how often something happened in repeated trials (the gate's false-alarm
  and catch rates), with its exact binomial interval.
No bootstrap: every interval is exact for its sample and the same on every run.

The unit is the worker process: runs inside one process share its noise (a burst, its memory
layout, the core it ran on), so each process contributes one number, a low percentile of its
runs (`per_process`). Between the sides, on the log scale, the estimate of the change is the
median of all pairwise differences (Hodges-Lehmann), the test counts how many differences are
positive (Mann-Whitney U), and the interval is the pair of order statistics of those same
differences that the test's null distribution picks out. So the estimate, the p-value and the
interval are one statistic on one unit: an interval at level 1 - alpha excludes zero exactly
when the p-value is at most alpha (tests/test_stats.py checks it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

# Above this many pairs (m * n) the exact null distribution is replaced by its normal limit.
EXACT_PAIRS = 2500


def per_process(samples: npt.ArrayLike, groups: Sequence[int], q: float) -> np.ndarray:
    """The `q`-th percentile of each worker process's samples (`groups`: samples per process).

    Without groups every sample is a process of its own (older files, tools that record one
    value per process).
    """
    values = np.asarray(samples, dtype=float)
    if not groups:
        return values
    if sum(groups) != len(values) or min(groups) < 1:
        raise ValueError(f"groups {tuple(groups)} do not split {len(values)} samples")
    if len(set(groups)) == 1:  # the usual case: every process ran the same number of times
        return np.asarray(np.percentile(values.reshape(len(groups), -1), q, axis=1))
    bounds = np.cumsum(groups)[:-1]
    return np.array([np.percentile(part, q) for part in np.split(values, bounds)])


@dataclass(frozen=True)
class Shift:
    """The log-scale shift from a side `a` to a side `b` of per-process values."""

    m: int
    n: int
    differences: np.ndarray  # every log(b_j) - log(a_i), sorted

    @property
    def estimate(self) -> float:
        """The Hodges-Lehmann estimate of the ratio b / a."""
        return math.exp(float(np.median(self.differences)))

    @property
    def p_value(self) -> float:
        """Two-sided Mann-Whitney p-value (ties count against significance)."""
        below = int(np.searchsorted(self.differences, 0.0, side="right"))  # differences <= 0
        above = len(self.differences) - int(np.searchsorted(self.differences, 0.0, side="left"))
        return min(1.0, 2.0 * _null_cdf(self.m, self.n, min(below, above)))

    def interval(self, alpha: float) -> tuple[float, float]:
        """The 1 - alpha interval of the ratio b / a (0 to infinity when no level is reachable).

        With c the largest count whose two-sided tail is at most alpha, the interval runs from
        the (c+1)-th smallest difference to the (c+1)-th largest: it excludes zero exactly
        when at most c differences lie on one side of it, i.e. when `p_value <= alpha`.
        """
        c = _critical(self.m, self.n, alpha)
        if c < 0:
            return 0.0, math.inf
        d = self.differences
        return math.exp(float(d[c])), math.exp(float(d[len(d) - 1 - c]))


def shift(a: npt.ArrayLike, b: npt.ArrayLike) -> Shift:
    """The shift between two sides' per-process values (positive numbers)."""
    la, lb = np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float))
    differences = np.sort((lb[None, :] - la[:, None]).ravel())
    return Shift(len(la), len(lb), differences)


def _null_cdf(m: int, n: int, u: int) -> float:
    """P(U <= u) for the Mann-Whitney count U of samples of sizes m and n under no change."""
    if m * n <= EXACT_PAIRS:
        cdf = _exact_cdf(min(m, n), max(m, n))
        return float(cdf[min(u, len(cdf) - 1)]) if u >= 0 else 0.0
    mean, sd = m * n / 2, math.sqrt(m * n * (m + n + 1) / 12)
    return float(stats.norm.cdf((u + 0.5 - mean) / sd))


def _critical(m: int, n: int, alpha: float) -> int:
    """The largest count u with 2 * P(U <= u) <= alpha, or -1 when even u = 0 is too likely."""
    if m * n <= EXACT_PAIRS:
        cdf = _exact_cdf(min(m, n), max(m, n))
        return int(np.searchsorted(cdf, alpha / 2 * (1 + 1e-12), side="right")) - 1
    mean, sd = m * n / 2, math.sqrt(m * n * (m + n + 1) / 12)
    u = math.floor(mean + sd * float(stats.norm.ppf(alpha / 2)) - 0.5)
    while u >= 0 and 2 * _null_cdf(m, n, u) > alpha:  # guard the boundary against rounding
        u -= 1
    return max(u, -1)


@functools.lru_cache(maxsize=256)
def _exact_cdf(m: int, n: int) -> np.ndarray:
    """Cumulative null distribution of U (0..m*n) for sizes m <= n, by counting arrangements.

    f(i, j) counts the arrangements of i first-side and j second-side values by U: the largest
    value is either a second-side one, above all i others (U grows by i), or a first-side one:
    f(i, j)[u] = f(i, j-1)[u-i] + f(i-1, j)[u].
    """
    size = m * n + 1
    column = np.zeros((m + 1, size))  # f(i, j) for the current j; f(i, 0) = [1, 0, ...]
    column[:, 0] = 1.0
    for _ in range(n):
        for i in range(1, m + 1):  # ascending i: column[i - 1] already holds f(i-1, j)
            shifted = np.zeros(size)
            shifted[i:] = column[i][: size - i]
            column[i] = shifted + column[i - 1]
    counts = column[m]
    return np.asarray(np.cumsum(counts) / counts.sum())


@dataclass(frozen=True)
class Median:
    """The median of one side's per-process values and its interval (NaN: too few values for
    an interval at that level)."""

    median: float
    low: float
    high: float
    n: int


def median_interval(values: npt.ArrayLike, level: float) -> Median:
    """The median of `values` with its distribution-free interval at `level`.

    The number of values below the true median is Binomial(n, 1/2) for any continuous
    distribution, so the k-th smallest and k-th largest values cover it with probability
    1 - 2 * P(Binomial <= k - 1): k is the largest whose coverage is at least `level`.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return Median(math.nan, math.nan, math.nan, 0)
    median = float(np.median(x))
    tails = stats.binom.cdf(np.arange(n), n, 0.5)  # P(Binomial <= j), j = 0..n-1
    reachable = np.flatnonzero(1 - 2 * tails >= level * (1 - 1e-12))
    if not len(reachable):
        return Median(median, math.nan, math.nan, n)
    k = int(reachable[-1]) + 1  # the k-th order statistic from each end (1-based)
    return Median(median, float(x[k - 1]), float(x[n - k]), n)


def rate_interval(events: int, trials: int, level: float) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval at `level` of a rate seen `events` times in
    `trials`: 0 in 100 still allows up to 3.6% at 95%."""
    if not 0 <= events <= trials or trials == 0:
        raise ValueError("events must lie in 0..trials, and trials be at least 1")
    found = stats.binomtest(events, trials).proportion_ci(confidence_level=level, method="exact")
    return float(found.low), float(found.high)


__all__ = [
    "EXACT_PAIRS", "Median", "Shift", "median_interval", "per_process", "rate_interval", "shift",
]  # fmt: skip
