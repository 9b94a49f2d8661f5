"""Allocations: per operation (memray, exact), and what a workload allocates and keeps.

Net blocks (sys.getallocatedblocks) and traced figures (tracemalloc) are Python's allocator;
native figures (memray) are the malloc family and mmap, what a C map allocates.
"""

from __future__ import annotations

from mapbench.reports.tables import Column, TopicTable

PER_OPERATION_TABLE = TopicTable(
    "allocations-per-op",
    "Allocations per operation",
    "Allocation calls and the bytes they asked for, per operation, counted by memray with "
    "the GC paused: Python's allocator, and native code (malloc family and mmap, what a C "
    "map allocates). A run's first half minus its first quarter, so what a run allocates "
    "once cancels; "
    "exact, compared exactly.",
    (
        Column("Python calls", "alloc_python_calls_per_op"),
        Column("Python bytes", "alloc_python_bytes_per_op"),
        Column("native calls", "alloc_native_calls_per_op"),
        Column("native bytes", "alloc_native_bytes_per_op"),
    ),
)
TABLE = TopicTable(
    "allocations",
    "Allocations",
    "Net blocks: the change of sys.getallocatedblocks() over the workload. Traced: a "
    "separate pass under tracemalloc (Python's allocator: live blocks, net and peak bytes). "
    "Native: what native code allocated in a run and kept, and its peak (memray).",
    (
        Column("net blocks", "allocated_blocks_net"),
        Column("traced live blocks", "alloc_live_blocks"),
        Column("traced net", "alloc_net_bytes"),
        Column("traced peak", "alloc_peak_bytes"),
        Column("native net", "alloc_native_net_bytes"),
        Column("native peak", "alloc_native_peak_bytes"),
    ),
)
