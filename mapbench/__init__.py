"""mapbench: benchmark and regression-test hash-map implementations."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from mapbench.errors import MapbenchError, UsageError
from mapbench.protocol import (
    BatchOps,
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
from mapbench.spec import MapSpecError

if TYPE_CHECKING:
    from mapbench.schema import Measurement

__all__ = [
    "BatchOps",
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


def __getattr__(name: str) -> Any:
    """`Measurement` loads the result schema (msgspec) on first use, not with every command."""
    if name == "Measurement":
        from mapbench.schema import Measurement

        return Measurement
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
