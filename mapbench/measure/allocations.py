"""Allocations of one run: the net `sys.getallocatedblocks()` change, and tracemalloc's figures.

Both run with the GC paused (collected first) after one untimed warm-up run, so that the
interpreter's free lists and caches are in the state the workload leaves them, whatever ran
before in the process.
"""

from __future__ import annotations

import sys
import tracemalloc

from mapbench.measure._collector import Collector, MetricsError
from mapbench.measure.catalog import measurement
from mapbench.measure.timing import gc_paused
from mapbench.schema import Measurement
from mapbench.workloads import Case


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
