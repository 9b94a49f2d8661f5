"""Collectors: context managers that measure the code run inside them and return plain numbers.

    with GcPauses() as c:
        case.run()
    c.measurements()  # -> list[Measurement]

`collect(case, names)` runs each named collector in a pass of its own (with `case.reset()`
before each), so expensive collectors never share a run with one another or with timing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from mapbench.measurement import Measurement
from mapbench.metrics._base import Collector, MetricsError, percentile
from mapbench.metrics.allocations import AllocatedBlocks, TracemallocAllocations
from mapbench.metrics.gc_pauses import GcPauses
from mapbench.metrics.latency import Latency
from mapbench.metrics.memory import MemoryPerEntry
from mapbench.metrics.probes import ProbeLengths, probe_stats_of
from mapbench.workloads import Case

COLLECTORS: Mapping[str, type[Collector]] = MappingProxyType(
    {
        c.name: c
        for c in (
            GcPauses,
            AllocatedBlocks,
            TracemallocAllocations,
            Latency,
            MemoryPerEntry,
            ProbeLengths,
        )
    }
)


def get_collector(name: str) -> type[Collector]:
    """The collector class called `name`, or a `MetricsError` naming the known ones."""
    try:
        return COLLECTORS[name]
    except KeyError:
        raise MetricsError(f"unknown collector {name!r}; known: {', '.join(COLLECTORS)}") from None


def collect(case: Case, names: Iterable[str]) -> list[Measurement]:
    """Run each named collector in its own pass over `case` (reset before each pass)."""
    classes = [get_collector(name) for name in names]  # fail before any pass runs
    out: list[Measurement] = []
    for cls in classes:
        collector = cls()
        case.reset()
        with collector:
            collector.drive(case)
        out.extend(collector.measurements())
    return out


__all__ = [
    "COLLECTORS",
    "AllocatedBlocks",
    "Collector",
    "GcPauses",
    "Latency",
    "MemoryPerEntry",
    "MetricsError",
    "ProbeLengths",
    "TracemallocAllocations",
    "collect",
    "get_collector",
    "percentile",
    "probe_stats_of",
]
