"""mapbench: benchmark and regression-test hash-map implementations."""

from __future__ import annotations

__version__ = "0.1.0"

from mapbench.errors import MapbenchError, UsageError
from mapbench.protocol import (
    BatchOps,
    EventCounters,
    Map,
    Persistent,
    Presizable,
    ProbeStats,
    ProbeStatsReporter,
    Snapshottable,
    ThreadSafe,
    capabilities_of,
)
from mapbench.registry import MapInfo, MapSpec, create, parse_spec, registry
from mapbench.schema import Measurement
from mapbench.spec import MapSpecError

__all__ = [
    "BatchOps",
    "EventCounters",
    "Map",
    "MapInfo",
    "MapSpec",
    "MapSpecError",
    "MapbenchError",
    "Measurement",
    "Persistent",
    "Presizable",
    "ProbeStats",
    "ProbeStatsReporter",
    "Snapshottable",
    "ThreadSafe",
    "UsageError",
    "__version__",
    "capabilities_of",
    "create",
    "parse_spec",
    "registry",
]
