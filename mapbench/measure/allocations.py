"""Allocations of one run: the net `sys.getallocatedblocks()` change, tracemalloc's figures, and
allocation calls per operation of Python's allocator (counted by an allocator hook, no profile
hook) and of native code (memray).

All run with the GC paused (collected first, which also empties CPython's free lists) after one
untimed warm-up run, so that the interpreter's caches are in the state the workload leaves them,
whatever ran before in the process.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc
from dataclasses import dataclass

from mapbench.catalog import measurement
from mapbench.measure import allocator_log, python_allocator
from mapbench.measure._collector import THREADS_NOTE, Collector, MetricsError, threads_ran
from mapbench.measure.allocator_log import Tally
from mapbench.measure.python_allocator import PythonAllocations
from mapbench.measure.timing import gc_paused
from mapbench.schema import Kind, Measurement
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
        kind: Kind | None = "noisy" if threads_ran() else None
        note = THREADS_NOTE if kind else ""
        return [measurement("allocated_blocks_net", after - before, note=note, kind=kind)]


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
        kind: Kind | None = "noisy" if threads_ran() else None
        note += f"; {THREADS_NOTE}" if kind else ""
        return [
            measurement("alloc_net_bytes", net, note=note, kind=kind),
            measurement("alloc_peak_bytes", peak, note=note, kind=kind),
            measurement("alloc_live_blocks", live, note=note, kind=kind),
        ]


class AllocationsPerOp(Collector):
    """Allocation calls and bytes per operation, Python's allocator (`python_allocator`: a
    counting allocator hook, no profile hook) and native code (memray) apart, and the native
    bytes one run keeps (net) and holds at most (peak).

    Three counted runs from the same state (a reset, the GC collected and paused), each once
    under each counter: the whole run (net and peak; being the first under the tracker, it also
    takes the caches code allocates the first time it runs tracked), then the first half and
    the first quarter of its operations. Per operation is
    `(half - quarter) / (ops in half - ops in quarter)`: what a run allocates once (the
    tracker's own bookkeeping, the harness's range objects, an object a map makes at its first
    write) is in both and cancels, so one allocation more per operation reads as exactly +1 and
    a one-off as 0.
    """

    name = "allocations"
    description = "allocation calls and bytes per op, Python (allocator hook) and native (memray)"

    def collect(self, case: Case) -> list[Measurement]:
        _warm(case)
        runners = _runner_ops(case)
        whole, ops = _tracked(case, {n: n for n in runners})
        half, half_ops = _tracked(case, {n: n // 2 for n in runners})
        quarter, quarter_ops = _tracked(case, {n: _quarter(n) for n in runners})
        if half_ops == quarter_ops:  # a run of one operation (a snapshot): one against none
            half, half_ops = _tracked(case, {n: n for n in runners})
            quarter, quarter_ops = _tracked(case, {n: 0 for n in runners})
        n = half_ops - quarter_ops
        python, native = half.python - quarter.python, half.native - quarter.native
        kind: Kind | None = "noisy" if threads_ran() else None
        threads = f"; {THREADS_NOTE}" if kind else ""
        note = (
            f"(first {half_ops} ops - first {quarter_ops}) / {n} of a run of {ops}; GC paused; "
            f"Python: allocator hook, no profile hook; native: memray{threads}"
        )
        out = []
        if n > 0:
            out += [
                measurement(name, value / n, note=note, kind=kind)
                for name, value in (
                    ("alloc_python_calls_per_op", python.calls),
                    ("alloc_python_bytes_per_op", python.bytes),
                    ("alloc_native_calls_per_op", native.native_calls),
                    ("alloc_native_bytes_per_op", native.native_bytes),
                )
            ]
        run_note = f"memray; one run of {ops} ops, GC paused{threads}"
        return [
            *out,
            measurement(
                "alloc_native_net_bytes", whole.native.native_net, note=run_note, kind=kind
            ),
            measurement(
                "alloc_native_peak_bytes", whole.native.native_peak, note=run_note, kind=kind
            ),
        ]


# CPython keeps one int object for each of -5..256 and makes a new one for any other value:
# harness arithmetic (a range's end) allocates an int for one prefix length and not for another
# unless both lie on the same side of this.
_SMALL_INTS = 256


def _quarter(ops: int) -> int:
    """The shorter prefix: a quarter of the run, on the same side of the small ints as half."""
    quarter = ops // 4
    return _SMALL_INTS + 1 if quarter <= _SMALL_INTS < ops // 2 - 1 else quarter


def _runner_ops(case: Case) -> list[int]:
    """How many operations each runner of a run does (one runner, or each thread's plan)."""
    seen: list[int] = []

    def note(run_range: RunRange, ops: int, batch: int) -> list[int]:
        seen.append(ops)  # and runs nothing
        return []

    case.run_batches(note, 1)
    return seen


@dataclass(frozen=True)
class _Counted:
    """What one prefix of a run allocated: from Python's allocator, and natively."""

    python: PythonAllocations
    native: Tally


def _tracked(case: Case, stops: dict[int, int]) -> tuple[_Counted, int]:
    """What running operations 0..stops[ops] of each runner allocated, and how many ran: the
    prefix runs twice from the same state, once under each counter (one never sees the other)."""
    prefix = _Prefix(case, stops)
    case.reset()
    with gc_paused():
        native = allocator_log.track(prefix)
    ran = sum(prefix.done)
    prefix.done.clear()
    case.reset()
    with gc_paused():
        python = python_allocator.count(prefix)
    if sum(prefix.done) != ran:
        raise MetricsError(f"the same prefix ran {ran} operations, then {sum(prefix.done)}")
    return _Counted(python, native), ran


class _Prefix:
    """Calling it runs operations 0..`stops[ops]`-1 of each runner of the case (every number
    made beforehand: an int made while tracked is an allocation); `done` is what each ran."""

    def __init__(self, case: Case, stops: dict[int, int]) -> None:
        self.case = case
        self.stops = stops
        self.done: list[int] = []
        self._lock = threading.Lock()

    def __call__(self) -> None:
        self.case.run_batches(self._run, 1)

    def _run(self, run_range: RunRange, ops: int, batch: int) -> list[int]:
        # In the batch timer's place in `run_batches`, it runs operations 0.. in order and
        # times nothing. Each thread of a concurrent case calls it with its own plan.
        stop = self.stops[ops]
        run_range(0, stop)
        with self._lock:
            self.done.append(stop)
        return []
