"""The collectors by name, and `collect()`: each named collector in a pass of its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mapbench.measure._collector import Collector, MetricsError, Unmeasurable
from mapbench.measure.allocations import (
    AllocatedBlocks,
    AllocationsPerOp,
    TracemallocAllocations,
)
from mapbench.measure.gc_pauses import GcPauses
from mapbench.measure.latency import Latency
from mapbench.measure.memory import MemoryPerEntry
from mapbench.measure.probes import ProbeLengths
from mapbench.schema import Measurement
from mapbench.workloads import Case

COLLECTORS: Mapping[str, type[Collector]] = MappingProxyType(
    {
        c.name: c
        for c in (
            GcPauses,
            AllocatedBlocks,
            TracemallocAllocations,
            AllocationsPerOp,
            Latency,
            MemoryPerEntry,
            ProbeLengths,
        )
    }
)


@dataclass(frozen=True)
class Collected:
    """What the passes measured, and why a collector could not measure this map (by name)."""

    measurements: list[Measurement] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)


def get_collector(name: str) -> type[Collector]:
    """The collector class called `name`, or a `MetricsError` naming the known ones."""
    try:
        return COLLECTORS[name]
    except KeyError:
        raise MetricsError(f"unknown collector {name!r}; known: {', '.join(COLLECTORS)}") from None


def collect(case: Case, names: Iterable[str] | None = None) -> Collected:
    """Run each named collector (default: all) in its own pass over `case`.

    A collector that cannot measure this map (`Unmeasurable`) is recorded with its reason and
    the others still run; anything the map itself raises propagates (the case failed).
    """
    classes = [get_collector(name) for name in (COLLECTORS if names is None else names)]
    out = Collected()
    for cls in classes:
        try:
            out.measurements.extend(cls().collect(case))
        except Unmeasurable as exc:
            out.unavailable[cls.name] = str(exc)
    return out


__all__ = ["COLLECTORS", "Collected", "collect", "get_collector"]
