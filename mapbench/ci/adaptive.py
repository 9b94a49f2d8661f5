"""Adaptive rounds: keep measuring until every time interval is tight, or the budget is spent.

The stopping rule looks only at how wide the intervals are, never at where they lie, so adding
rounds cannot steer a verdict (stopping as soon as a row turns significant would inflate false
alarms). An interval is tight when it is no wider than the minimum effect: then a change of that
size cannot hide inside it. Each look is a full comparison (`judge`), which costs well under a
second; the budget counts the seconds since `started`, and a batch is only started when the
processes measured so far say it fits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from mapbench.ci.interleave import Progress, Runner, SideRuns, run_rounds
from mapbench.compare import Comparison

# The clocks whose rows decide when to stop (deterministic rows are exact from the start).
_CLOCKS = ("time", "cpu_time")


def loose(comparison: Comparison, bands: int = 1) -> list[Any]:
    """The time rows whose interval is missing or wider than `bands` minimum effects (high over
    low above (1 + effect) ** bands), whatever their verdict: stopping once a row looks
    significant is what must not happen. Two bands is too wide to tell a regression of the
    minimum effect from an improvement of it."""
    rows = comparison.rows
    times = rows[rows["metric"].isin(_CLOCKS)]
    width = (1 + comparison.thresholds.min_effect) ** bands
    return [
        row
        for row in times.itertuples(index=False)
        if not (
            math.isfinite(row.ci_low)
            and row.ci_low > 0
            and math.isfinite(row.ci_high)
            and row.ci_high / row.ci_low <= width
        )
    ]


def loose_rows(comparison: Comparison) -> int:
    """How many time rows are wider than the minimum effect (`loose`)."""
    return len(loose(comparison))


def extend(
    runner: Runner,
    runs: tuple[SideRuns, SideRuns],
    *,
    reps: int,
    budget: float,
    started: float,
    judge: Callable[[SideRuns, SideRuns], Comparison],
    progress: Progress,
) -> int:
    """Add rounds in batches while some interval is loose and the next batch fits the budget;
    the rounds added."""
    added = 0
    batch = max(2, len(runs[0].processes) // 2)
    while loose_rows(judge(*runs)):
        done = len(runs[0].processes) + len(runs[1].processes)
        per_round = 2 * (time.monotonic() - started) / max(1, done)
        if time.monotonic() - started + batch * per_round > budget:
            break
        progress(f"intervals still loose: {batch} more rounds (budget {budget:g} s)")
        run_rounds(runner, runs, rounds=batch, reps=reps, progress=progress)
        added += batch
    return added


__all__ = ["extend", "loose", "loose_rows"]
