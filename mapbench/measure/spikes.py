"""Why a latency spike happened: a resize, a GC collection, preemption or page faults.

The latency pass times each batch of operations through `SpikeWatch`, which also records,
untimed after each batch, the thread's involuntary context switches and minor page faults
(`getrusage(RUSAGE_THREAD)`, ~0.7 µs) and, through `gc.callbacks`, when each collection ran.
Once the run is over and the spike threshold is known, `replay_resizes` reruns the same
operations from the same state (workloads are deterministic, the hash seed is pinned) and reads
the map's table identity just before and after each spike: a different identity means that
operation resized (or rebuilt) the table.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mapbench.measure.timing import gc_paused, time_batches
from mapbench.protocol import DictBacked, ProbeStatsReporter
from mapbench.workloads import Case, RunRange

# Reading a table's identity can cost a full statistics pass (170 ms for the mmap map at 100k
# entries): the replay stops reading after this long and says how many spikes it checked.
REPLAY_BUDGET_S = 10.0
_WHO = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


@dataclass
class _Runner:
    """What one caller of the batch timer saw: per batch, its time, end and usage after it."""

    batch: int
    times: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    switches: list[int] = field(default_factory=list)  # before the first batch, then after each
    faults: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Spike:
    """One batch slower than the threshold, where it was in the run, and what happened in it."""

    ops: tuple[int, int]  # operations start..stop-1 of its runner's run
    gc: bool
    preempted: bool
    page_faults: bool


class SpikeWatch:
    """A batch timer (`Case.run_batches`) that also records what could explain a slow batch.

    Thread-safe: each thread of a concurrent case records its own batches.
    """

    def __init__(self) -> None:
        self.runners: list[_Runner] = []
        self.collections: list[tuple[int, int]] = []  # perf_counter_ns at each start, stop
        self._gc_started = 0
        self._lock = threading.Lock()

    def __call__(self, run_range: RunRange, ops: int, batch: int) -> list[int]:
        runner = _Runner(batch)
        usage, clock = resource.getrusage, time.perf_counter_ns

        def after() -> None:
            runner.ends.append(clock())
            now = usage(_WHO)
            runner.switches.append(now.ru_nivcsw)
            runner.faults.append(now.ru_minflt)

        start = usage(_WHO)
        runner.switches.append(start.ru_nivcsw)
        runner.faults.append(start.ru_minflt)
        runner.times = time_batches(run_range, ops, batch, after)
        with self._lock:
            self.runners.append(runner)
        return runner.times

    def gc_callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        if phase == "start":
            self._gc_started = now
        else:
            self.collections.append((self._gc_started, now))

    def spikes(self, threshold_ns: float) -> list[Spike]:
        """Every batch slower than `threshold_ns` per operation, with what happened in it."""
        out = []
        for r in self.runners:
            for i, t in enumerate(r.times):
                if t / r.batch <= threshold_ns:
                    continue
                begin = r.ends[i] - t  # the clock read after the batch, minus its time
                out.append(
                    Spike(
                        (i * r.batch, i * r.batch + r.batch),
                        any(a < r.ends[i] and b > begin for a, b in self.collections),
                        r.switches[i + 1] != r.switches[i],
                        r.faults[i + 1] != r.faults[i],
                    )
                )
        return out


def table_identity(m: Any) -> Hashable | None:
    """Something that changes whenever the map's table is resized or rebuilt; None if unknown.

    A dict's keys object is replaced by every resize (and by every copy: a copy-on-write map's
    writes rebuild its table); a map with probe statistics reports its capacity and resizes.
    """
    from mapbench.measure import dictprobe

    if isinstance(m, dict):
        address = dictprobe.keys_address(m)
        return address if address is not None else sys.getsizeof(m)
    if isinstance(m, DictBacked):
        return tuple(table_identity(d) for d in m.backing_dicts())
    if isinstance(m, ProbeStatsReporter):
        stats = m.probe_stats()
        return stats.capacity, stats.resizes
    return None


def replay_resizes(
    case: Case, spikes: Sequence[Spike], budget_s: float = REPLAY_BUDGET_S
) -> list[bool]:
    """Rerun the case from a reset, reading the table's identity around each spike's batch:
    whether each spike resized it, for the first spikes that fit in `budget_s` seconds.

    Only for a case run by one runner, its spikes in run order (the operations of a concurrent
    case interleave differently in every run), and a map whose table identity is known.
    """
    resized: list[bool] = []

    def replay(run_range: RunRange, ops: int, batch: int) -> list[int]:
        deadline = time.monotonic() + budget_s
        done = 0
        for spike in spikes:
            if time.monotonic() > deadline:
                break
            start, stop = spike.ops[0], min(spike.ops[1], ops)
            if start > done:
                run_range(done, start)
            before = table_identity(case.map)
            run_range(start, stop)
            resized.append(table_identity(case.map) != before)
            done = stop
        return []

    case.reset()
    with gc_paused():
        case.run_batches(replay, 1)
    return resized


__all__ = ["Spike", "SpikeWatch", "replay_resizes", "table_identity"]
