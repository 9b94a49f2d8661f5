"""Allocations of one run: the net `sys.getallocatedblocks()` change, tracemalloc's figures, and
allocation calls per operation of Python's allocator and of native code (memray).

All run with the GC paused (collected first, which also empties CPython's free lists) after one
untimed warm-up run, so that the interpreter's caches are in the state the workload leaves them,
whatever ran before in the process.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc

from mapbench.measure import allocator_log
from mapbench.measure._collector import Collector, MetricsError
from mapbench.measure.allocator_log import Tally
from mapbench.measure.catalog import measurement
from mapbench.measure.timing import gc_paused
from mapbench.schema import Measurement
from mapbench.workloads import Case, RunRange


def _warm(case: Case) -> None:
    case.reset()
    case.run()
    case.reset()


class AllocatedBlocks(Collector):
    """Net memory blocks held by Python's allocator after one run minus before it."""

    name = "blocks"
    description = "net allocated blocks (sys.getallocatedblocks delta)"

    def collect(self, case: Case) -> list[Measurement]:
        _warm(case)
        with gc_paused():
            before = sys.getallocatedblocks()
            case.run()
            after = sys.getallocatedblocks()
        return [measurement("allocated_blocks_net", after - before)]


class TracemallocAllocations(Collector):
    """Net and peak bytes, and live blocks, allocated during one run, traced by tracemalloc.

    tracemalloc slows allocation-heavy code 4-9x (one frame), so this collector always gets a
    pass of its own and is never combined with timing.
    """

    name = "tracemalloc"
    description = "net/peak bytes and live blocks allocated (tracemalloc, 1 frame)"

    def collect(self, case: Case) -> list[Measurement]:
        if tracemalloc.is_tracing():
            raise MetricsError("tracemalloc is already tracing; its figures would be mixed")
        _warm(case)
        with gc_paused():
            tracemalloc.start(1)
            try:
                case.run()
                net, peak = tracemalloc.get_traced_memory()
                # Started fresh, so every trace is a block allocated during the run and held.
                live = len(tracemalloc.take_snapshot().traces)
            finally:
                tracemalloc.stop()
        note = "tracemalloc, 1 frame; its own pass, never timed"
        return [
            measurement("alloc_net_bytes", net, note=note),
            measurement("alloc_peak_bytes", peak, note=note),
            measurement("alloc_live_blocks", live, note=note),
        ]


class AllocationsPerOp(Collector):
    """Allocation calls and bytes per operation, Python's allocator and native code apart, and
    the native bytes one run keeps (net) and holds at most (peak), counted by memray.

    Per operation is the difference of two tracked runs from the same state: all operations,
    and the first half of them (`(all - half) / (ops - half ops)`). What a run allocates once
    (the tracker's own bookkeeping, an object made at a map's first write) is in both and
    cancels, so one extra allocation per operation reads as exactly +1 and a one-off as 0.
    A tracked warm-up run comes first: code that first runs under the tracker allocates caches.
    """

    name = "allocations"
    description = "allocation calls and bytes per op, Python and native (memray)"

    def collect(self, case: Case) -> list[Measurement]:
        _warm(case)
        case.reset()
        with gc_paused():
            allocator_log.warm_up(_Prefix(case, half=False))
        whole, ops = _tracked(case, half=False)
        half, half_ops = _tracked(case, half=True)
        diff, n = whole - half, ops - half_ops
        note = f"memray; (run of {ops} ops - run of its first {half_ops}) / {n}; GC paused"
        out = []
        if n > 0:
            out += [
                measurement("alloc_python_calls_per_op", diff.python_calls / n, note=note),
                measurement("alloc_python_bytes_per_op", diff.python_bytes / n, note=note),
                measurement("alloc_native_calls_per_op", diff.native_calls / n, note=note),
                measurement("alloc_native_bytes_per_op", diff.native_bytes / n, note=note),
            ]
        run_note = f"memray; one run of {ops} ops, GC paused"
        return [
            *out,
            measurement("alloc_native_net_bytes", whole.native_net, note=run_note),
            measurement("alloc_native_peak_bytes", whole.native_peak, note=run_note),
        ]


def _tracked(case: Case, *, half: bool) -> tuple[Tally, int]:
    """What one run (or its first half) allocated, and how many operations it did."""
    prefix = _Prefix(case, half=half)
    case.reset()
    with gc_paused():
        found = allocator_log.track(prefix)
    return found, prefix.ops


class _Prefix:
    """Calling it runs the case (or the first half of each of its runners' operations);
    `ops` is then how many operations ran."""

    def __init__(self, case: Case, *, half: bool) -> None:
        self.case = case
        self.half = half
        self.ops = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        self.case.run_batches(self._run, 1)

    def _run(self, run_range: RunRange, ops: int, batch: int) -> list[int]:
        # In the batch timer's place in `run_batches`, it runs operations 0.. in order and
        # times nothing. Each thread of a concurrent case calls it with its own plan.
        stop = ops // 2 if self.half else ops
        run_range(0, stop)
        with self._lock:
            self.ops += stop
        return []
