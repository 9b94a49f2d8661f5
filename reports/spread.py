"""What the samples of one time cell say: the statistic, its interval, the median, IQR and n.

The interval is a seeded bootstrap percentile interval of the statistic itself (the same
method, seed and resample count `mapbench.compare` uses for ratios), so a report renders the
same numbers every time. Cells with few samples or a wide spread are flagged unstable.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from mapbench import formatting
from mapbench.thresholds import Thresholds

# A cell whose interquartile range exceeds this share of its median is flagged unstable
# (pyperf warns at a standard deviation of 10% of the mean; the IQR of a normal is 1.35 sd).
UNSTABLE_IQR = 0.10
_CHUNK = 64  # rows resampled at once: bounds memory at 64 x resamples x n floats
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Spread:
    """One cell's samples summarised; NaN where a number cannot be given."""

    statistic: float
    low: float  # the statistic's bootstrap interval
    high: float
    median: float
    q1: float
    q3: float
    n: int
    min_samples: int

    @property
    def relative_iqr(self) -> float:
        """The interquartile range over the median (NaN without samples)."""
        if not self.n or not self.median > 0:
            return math.nan
        return (self.q3 - self.q1) / self.median

    @property
    def unstable(self) -> str:
        """Why this cell should not be trusted on its own, or ""."""
        if not self.n:
            return ""
        if self.n < self.min_samples:
            return f"too few samples (n={self.n})"
        if self.relative_iqr > UNSTABLE_IQR:
            return f"wide spread: IQR {self.relative_iqr:.0%} of the median"
        return ""

    def interval_text(self, unit: str) -> str:
        """`80.1-88.0 ns` (en dash), in the unit of the upper end; MISSING when there is none."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return formatting.MISSING
        return formatting.value_range(self.low, self.high, unit)


def spreads(
    groups: Mapping[K, Sequence[float]],
    percentile: float,
    thresholds: Thresholds | None = None,
) -> dict[K, Spread]:
    """The spread of every group of samples; groups of equal size are resampled together."""
    t = thresholds or Thresholds()
    out: dict[K, Spread] = {}
    by_size: dict[int, list[K]] = {}
    for key, samples in groups.items():
        by_size.setdefault(len(samples), []).append(key)
    rng = np.random.default_rng(t.seed)
    for n in sorted(by_size):
        keys = by_size[n]
        if n == 0:
            out.update({k: Spread(*(math.nan,) * 6, 0, t.min_samples) for k in keys})
            continue
        data = np.asarray([groups[k] for k in keys], dtype=float)
        stat = np.percentile(data, percentile, axis=1)
        q1, median, q3 = np.percentile(data, [25, 50, 75], axis=1)
        if n >= t.min_samples:
            low, high = _bootstrap(data, percentile, t, rng)
        else:  # too few samples for an interval worth drawing
            low = high = np.full(len(keys), math.nan)
        for i, k in enumerate(keys):
            out[k] = Spread(
                float(stat[i]), float(low[i]), float(high[i]), float(median[i]),
                float(q1[i]), float(q3[i]), n, t.min_samples,
            )  # fmt: skip
    return out


def _bootstrap(
    data: np.ndarray, percentile: float, t: Thresholds, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap interval of each row's percentile (rows share resample indices)."""
    n = data.shape[1]
    picks = rng.integers(0, n, size=(t.resamples, n))
    tail = (1 - t.confidence) / 2 * 100
    lows, highs = [], []
    for start in range(0, len(data), _CHUNK):
        resampled = data[start : start + _CHUNK][:, picks]  # rows x resamples x n
        stats = np.percentile(resampled, percentile, axis=2)
        low, high = np.percentile(stats, [tail, 100 - tail], axis=1)
        lows.append(low)
        highs.append(high)
    return np.concatenate(lows), np.concatenate(highs)
