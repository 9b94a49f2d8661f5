"""Allocations: the net `sys.getallocatedblocks()` change, and a separate tracemalloc pass."""

from __future__ import annotations

import gc
import sys
import tracemalloc

from mapbench.measurement import Measurement
from mapbench.metrics._base import Collector, MetricsError


class AllocatedBlocks(Collector):
    """Net memory blocks held by Python's allocator after the run minus before it.

    Reading the counter costs well under a microsecond, but a GC collection is forced on entry
    (so garbage from earlier work is not freed inside the run) and that is not free.
    """

    name = "blocks"
    description = "net allocated blocks (sys.getallocatedblocks delta)"

    def __init__(self) -> None:
        self.before = self.after = 0

    def __enter__(self) -> AllocatedBlocks:
        gc.collect()
        self.before = sys.getallocatedblocks()
        return self

    def __exit__(self, *exc: object) -> None:
        self.after = sys.getallocatedblocks()

    def measurements(self) -> list[Measurement]:
        return [
            Measurement(
                "allocated_blocks_net",
                self.after - self.before,
                "blocks",
                "deterministic",
                note="sys.getallocatedblocks() after minus before (blocks still held)",
            )
        ]


class TracemallocAllocations(Collector):
    """Net and peak bytes, and live blocks, allocated inside the context, traced by tracemalloc.

    tracemalloc slows allocation-heavy code 4-9x (one frame), so this collector always gets a
    pass of its own and is never combined with timing.
    """

    name = "tracemalloc"
    description = "net/peak bytes and live blocks allocated (tracemalloc, 1 frame)"

    def __init__(self) -> None:
        self.net_bytes = self.peak_bytes = self.live_blocks = 0

    def __enter__(self) -> TracemallocAllocations:
        if tracemalloc.is_tracing():
            raise MetricsError("tracemalloc is already tracing; its figures would be mixed")
        gc.collect()
        tracemalloc.start(1)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.net_bytes, self.peak_bytes = tracemalloc.get_traced_memory()
            # Started fresh on entry, so every trace is a block allocated inside and still held.
            self.live_blocks = len(tracemalloc.take_snapshot().traces)
        finally:
            tracemalloc.stop()

    def measurements(self) -> list[Measurement]:
        note = "tracemalloc, 1 frame; its own pass, never timed"
        return [
            Measurement("alloc_net_bytes", self.net_bytes, "B", "deterministic", note=note),
            Measurement("alloc_peak_bytes", self.peak_bytes, "B", "deterministic", note=note),
            Measurement(
                "alloc_live_blocks", self.live_blocks, "blocks", "deterministic", note=note
            ),
        ]
