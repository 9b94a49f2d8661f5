"""When a noisy row cannot be judged: the "too noisy" verdict and its documented bounds.

CPU time splits into modes that are the machine's, not the code's: one process running one loop
moves between levels about 2x apart as it runs (docs/ci.md). A side whose CPU times split is
judged on its fast mode (`fast_modes`), where enough of its processes lie.

A row that would read "no change" or "inconclusive" reads "too noisy", with the reasons, when
the measurement behind it cannot support either (bounds measured in docs/ci.md):
- a side's per-process values split into modes (a gap of `MODE_GAP` or more, with at least
  `MODE_SHARE` of the processes, and two, on each side of it);
- wall time, where more than `PREEMPTED_MAX` of a side's processes had every timed run
  preempted (involuntary context switches in each): no clean run, so no clean minimum;
- the machine's load average, per core, was above `LOAD_PER_CORE_MAX` (the highest load the
  verdicts were validated at) in the median process of a side;
- spread: the interval is wider than the whole no-change band, so the data could not tell a
  regression of the minimum effect from an improvement of it.
A significant regression or improvement keeps its verdict: the test already accounts for the
noise it saw, process by process.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mapbench import formatting
from mapbench.catalog import is_condition
from mapbench.thresholds import Thresholds

MODE_GAP = 0.25  # relative gap between consecutive sorted per-process values
MODE_SHARE = 0.2  # of a side's processes, at least, on each side of the gap
PREEMPTED_MAX = 0.5  # share of processes whose every timed run was preempted (wall time)
LOAD_PER_CORE_MAX = 5.0  # 1-minute load average over the number of cores


@dataclass(frozen=True)
class Conditions:
    """The machine while one side's processes timed one case (NaN: not recorded)."""

    load_per_core: float = math.nan  # median over the processes
    preempted: float = math.nan  # share of processes with no unpreempted timed run
    # median over the runs of the share of wall time the thread was neither on a core nor
    # waiting for one (wall - CPU - run-queue delay): it slept (I/O, locks, other threads)
    asleep: float = math.nan
    waiting: float = math.nan  # the same median share spent waiting for a core (contention)


def conditions(
    frame: pd.DataFrame, case_key: list[str], environments: Mapping[str, Mapping[str, Any]]
) -> dict[tuple[Any, ...], Conditions]:
    """Each case's conditions on one side, from its `load_average`, `context_switches` and
    `run_queue` rows (the last read against the same runs' wall and CPU times)."""
    read = frame["metric"].map(is_condition).astype(bool) | frame["metric"].isin(_CLOCKS)
    found: dict[tuple[Any, ...], Conditions] = {}
    for case, part in frame[read].groupby(case_key, dropna=False, sort=False):
        loads: list[float] = []
        preempted: list[bool] = []
        runs: dict[str, dict[str, tuple[float, ...]]] = {}  # per file: clock -> its runs
        for row in part.itertuples(index=False):
            if row.metric == "load_average":
                cores = environments.get(row.file, {}).get("cpu_count")
                if isinstance(cores, int) and cores > 0:
                    loads += [x / cores for x in row.samples]
            elif row.metric == "context_switches":
                preempted += _preempted(row.samples, row.groups)
            elif row.metric in _CLOCKS:
                runs.setdefault(row.file, {})[row.metric] = tuple(row.samples)
        asleep, waiting = _off_cpu(runs.values())
        found[tuple(case)] = Conditions(
            float(np.median(loads)) if loads else math.nan,
            float(np.mean(preempted)) if preempted else math.nan,
            asleep,
            waiting,
        )
    return found


# Wall time, CPU time and run-queue delay of the same runs, in the same order.
_CLOCKS = ("time", "cpu_time", "run_queue")


def _off_cpu(files: Iterable[Mapping[str, tuple[float, ...]]]) -> tuple[float, float]:
    """Median shares of wall time spent asleep and spent waiting for a core, over every run
    that recorded all three clocks (NaN, NaN: none did; files before version 4)."""
    asleep: list[float] = []
    waiting: list[float] = []
    for clocks in files:
        wall, cpu, queue = (clocks.get(name, ()) for name in _CLOCKS)
        if not wall or not len(wall) == len(cpu) == len(queue):
            continue
        for w, c, q in zip(wall, cpu, queue, strict=True):
            if w > 0:
                asleep.append(max(0.0, w - c - q) / w)
                waiting.append(q / w)
    if not asleep:
        return math.nan, math.nan
    return float(np.median(asleep)), float(np.median(waiting))


def _preempted(switches: Sequence[float], groups: Sequence[int]) -> list[bool]:
    """Per process: whether every one of its timed runs was preempted."""
    bounds = np.cumsum(groups or (1,) * len(switches))[:-1]
    return [bool(np.all(part > 0)) for part in np.split(np.asarray(switches), bounds)]


def modes(values: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray] | None:
    """The two groups a side's per-process values split into, or None when they do not."""
    x = np.sort(np.asarray(values, dtype=float))
    least = max(2, math.ceil(MODE_SHARE * len(x)))
    if len(x) < 2 * least or x[0] <= 0:
        return None
    gaps = x[least:] / x[least - 1 : -1] - 1  # gap after the i-th value, i in least-1 .. n-1
    gaps = gaps[: len(x) - 2 * least + 1]  # leave at least `least` values above the gap
    split = int(np.argmax(gaps))
    if gaps[split] < MODE_GAP:
        return None
    cut = least + split
    return x[:cut], x[cut:]


def fast_modes(
    a: np.ndarray, b: np.ndarray, least: int, unit: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Each side's per-process CPU times, its fast mode only where it splits into modes with at
    least `least` processes in the fast one, and a note saying what was set aside ("" when
    nothing was); when either side's fast mode is too small, both sides as they are, for
    `reasons` to call the row too noisy."""
    kept: list[np.ndarray] = []
    said: list[str] = []
    for name, values in (("base", a), ("head", b)):
        split = modes(values)
        if split is None:
            kept.append(values)
            continue
        fast, slow = split
        if len(fast) < least:
            return a, b, ""
        kept.append(fast)
        said.append(
            f"{name}: {len(fast)} of {len(values)} processes, "
            f"{len(slow)} set aside at {formatting.value(float(np.median(slow)), unit)}"
        )
    if not said:
        return a, b, ""
    note = (
        f"judged on the fast mode of CPU time ({'; '.join(said)}): the slow mode is the "
        "machine's state, not the code's"
    )
    return kept[0], kept[1], note


def reasons(
    a: np.ndarray,
    b: np.ndarray,
    sides: Sequence[Conditions],
    interval: tuple[float, float],
    t: Thresholds,
    unit: str,
    metric: str,
) -> list[str]:
    """Why a row cannot be judged ("too noisy"); empty when it can."""
    found = []
    for name, values, cond in zip(("base", "head"), (a, b), sides, strict=True):
        split = modes(values)
        if split is not None:
            slow, fast = split[1], split[0]
            found.append(
                f"{name} splits into 2 modes ({len(fast)} processes at "
                f"{formatting.value(float(np.median(fast)), unit)}, {len(slow)} at "
                f"{formatting.value(float(np.median(slow)), unit)})"
            )
        if metric == "time" and cond.preempted > PREEMPTED_MAX:
            found.append(
                f"{name}: every timed run preempted in {cond.preempted:.0%} of its processes "
                "(wall time)"
            )
        if cond.load_per_core > LOAD_PER_CORE_MAX:
            found.append(
                f"{name}: load average {cond.load_per_core:.1f} per core "
                f"(bound {LOAD_PER_CORE_MAX:g})"
            )
    low, high = interval
    band = 1 + t.min_effect
    if math.isfinite(low) and low > 0 and high / low > band**2:
        found.append(
            f"spread: interval {formatting.interval(low, high)} is wider than the "
            f"±{t.min_effect:.0%} no-change band"
        )
    elif low == 0 and math.isinf(high):
        found.append("spread: too few processes for an interval at this level")
    return found


__all__ = [
    "LOAD_PER_CORE_MAX",
    "MODE_GAP",
    "MODE_SHARE",
    "PREEMPTED_MAX",
    "Conditions",
    "conditions",
    "fast_modes",
    "modes",
    "reasons",
]
