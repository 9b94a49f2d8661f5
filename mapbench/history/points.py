"""One number per result row for the history: what change points are detected on.

A noisy row's point is the 10th percentile of its samples (the statistic `mapbench compare`
judges, robust to the bursts of a shared machine), or its value when it kept no samples; any
other row's point is its value. Rows of equal sample counts are computed in one vectorised call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mapbench.thresholds import STATISTICS

PERCENTILE = STATISTICS["p10"]


def with_points(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a `point` column added (a copy)."""
    out: pd.DataFrame = frame.copy()
    point = out["value"].to_numpy(dtype=np.float64, copy=True)
    noisy = (out["kind"] == "noisy").to_numpy() & (out["n_samples"] > 0).to_numpy()
    positions = np.flatnonzero(noisy)
    counts = out["n_samples"].to_numpy()[positions]
    samples = out["samples"].to_numpy()
    for n in np.unique(counts):
        chosen = positions[counts == n]
        stacked = np.array([samples[i] for i in chosen], dtype=np.float64).reshape(len(chosen), n)
        point[chosen] = np.percentile(stacked, PERCENTILE, axis=1)
    out["point"] = point
    return out


__all__ = ["PERCENTILE", "with_points"]
