"""What one time cell's worker processes say: the median of their numbers, its interval, the
quartiles and n.

The unit is the worker process, as in every verdict (`mapbench.stats`): each process gives one
number (the `--statistic` percentile of its runs), and the cell is the median of those numbers
with the distribution-free interval of that median at `Thresholds.confidence`. The same data
give the same report, with no random resampling. Cells with few processes or a wide spread
between them are flagged unstable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapbench import formatting
from mapbench.stats import median_interval
from mapbench.thresholds import Thresholds

# A cell whose processes' interquartile range exceeds this share of their median is flagged
# unstable (pyperf warns at a standard deviation of 10% of the mean; the IQR of a normal is
# 1.35 sd).
UNSTABLE_IQR = 0.10


@dataclass(frozen=True)
class Spread:
    """One cell's per-process numbers summarised; NaN where a number cannot be given."""

    statistic: float  # the median over the processes
    low: float  # its interval
    high: float
    q1: float
    q3: float
    n: int  # processes
    min_samples: int

    @property
    def relative_iqr(self) -> float:
        """The interquartile range over the median (NaN without processes)."""
        if not self.n or not self.statistic > 0:
            return math.nan
        return (self.q3 - self.q1) / self.statistic

    @property
    def unstable(self) -> str:
        """Why this cell should not be trusted on its own, or ""."""
        if not self.n:
            return ""
        if self.n < self.min_samples:
            return f"too few processes (n={self.n})"
        if self.relative_iqr > UNSTABLE_IQR:
            return f"wide spread: IQR {self.relative_iqr:.0%} of the median"
        return ""

    def interval_text(self, unit: str) -> str:
        """`80.1-88.0 ns` (en dash), in the unit of the upper end; MISSING when there is none."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return formatting.MISSING
        return formatting.value_range(self.low, self.high, unit)


def spread(processes: npt.ArrayLike, thresholds: Thresholds) -> Spread:
    """The spread of one cell's per-process numbers."""
    values = np.asarray(processes, dtype=float)
    if not len(values):
        return summary_only(math.nan, thresholds)
    found = median_interval(values, thresholds.confidence)
    q1, q3 = np.percentile(values, [25, 75])
    return Spread(
        found.median, found.low, found.high, float(q1), float(q3), found.n,
        thresholds.min_samples,
    )  # fmt: skip


def summary_only(value: float, thresholds: Thresholds) -> Spread:
    """A cell of a tool that kept no samples: its own summary, no interval."""
    return Spread(value, *(math.nan,) * 4, 0, thresholds.min_samples)
