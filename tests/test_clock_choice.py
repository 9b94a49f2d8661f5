"""Which clock a time row is judged on, from real runs: work that sleeps is judged on wall time;
CPU-bound work on a contended machine is judged on CPU time, because the run-queue delay
(/proc/thread-self/schedstat) accounts for the wall time its CPU time misses."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mapbench.case import CaseId
from mapbench.ci.background import busy_loops
from mapbench.ci.interleave import Side, SideRuns
from mapbench.ci.results_io import save_side
from mapbench.compare import compare
from mapbench.measure.timing import run_queue_ns, time_runs
from mapbench.results import ResultSet, load
from mapbench.workloads import get_workload

pytestmark = pytest.mark.skipif(run_queue_ns() is None, reason="no /proc/thread-self/schedstat")

PROCESSES = 6


class Sleepy(dict):  # type: ignore[type-arg]
    """Each lookup waits 100 µs off the CPU (as I/O or a lock would)."""

    size = 20

    def __getitem__(self, key: Any) -> Any:
        time.sleep(0.0001)
        return dict.__getitem__(self, key)

    def close(self) -> None:
        """Nothing to release."""


class Spinning(dict):  # type: ignore[type-arg]
    """Each lookup is ~100 µs of pure CPU work: ~20 ms runs, several scheduler ticks long."""

    size = 200
    _spin = (None,) * 25000  # ~100 µs where a 5,000 loop took ~20 µs

    def __getitem__(self, key: Any) -> Any:
        for _ in self._spin:
            pass
        return dict.__getitem__(self, key)

    def close(self) -> None:
        """Nothing to release."""


def _side(cls: type[Sleepy | Spinning], name: str, directory: Path) -> ResultSet:
    """`PROCESSES` rounds of timed runs, saved and loaded as `mapbench ci` does."""
    case = get_workload("lookup-hit").prepare(cls, cls.size, "random-int")
    case_id = CaseId("m", "lookup-hit", "random-int", cls.size)
    try:
        rounds = [time_runs(case, 3).measurements() for _ in range(PROCESSES)]
    finally:
        case.close()
    runs = SideRuns(Side(name, sys.executable, commit=name), rounds={case_id: rounds})
    save_side(runs, [case_id], directory / name, {})
    return load([directory / name])


def test_a_sleeping_worker_is_judged_on_wall_time(tmp_path: Path) -> None:
    a, b = _side(Sleepy, "a", tmp_path), _side(Sleepy, "b", tmp_path)
    [row] = compare(a, b).rows.to_dict("records")
    assert row["metric"] == "time"
    assert "the work sleeps" in row["note"] and "wall time is judged" in row["note"]


@pytest.mark.slow
def test_a_contended_cpu_bound_worker_is_judged_on_cpu_time(tmp_path: Path) -> None:
    with busy_loops(3):  # three busy loops and this process on two cores, for a few seconds
        a, b = _side(Spinning, "a", tmp_path), _side(Spinning, "b", tmp_path)
    frame = a.frame
    # Medians: a run that fits in one time slice (4 ms) can run uncontended beside busy loops.
    wall = statistics.median(frame.loc[frame["metric"] == "time", "samples"].iloc[0])
    cpu = statistics.median(frame.loc[frame["metric"] == "cpu_time", "samples"].iloc[0])
    queued = frame.loc[frame["metric"] == "run_queue", "samples"].iloc[0]
    assert cpu / wall < 0.9, "no contention: the old CPU-share rule would also judge CPU time"
    assert max(queued) > 0
    [row] = compare(a, b).rows.to_dict("records")
    assert row["metric"] == "cpu_time"
    assert "for a core (contention, not the work): CPU time is judged" in row["note"]
