"""mapbench: benchmark and regression-test hash-map implementations.

The public names below load on first use (PEP 562), so importing one part of mapbench (its
results reader, its command line) does not load the others: the map registry and the protocol
come with the first name that needs them. The registry of maps is `mapbench.registry.registry()`
(`mapbench.registry` is its module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mapbench.errors import MapbenchError, UsageError

__version__ = "0.1.0"

if TYPE_CHECKING:
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
    from mapbench.registry import MapInfo, MapSpec, create, parse_spec
    from mapbench.schema import Measurement
    from mapbench.spec import MapSpecError

# Each lazily loaded public name and the module that defines it.
_LAZY = {
    "BatchOps": "mapbench.protocol",
    "EventCounters": "mapbench.protocol",
    "Map": "mapbench.protocol",
    "Persistent": "mapbench.protocol",
    "Presizable": "mapbench.protocol",
    "ProbeStats": "mapbench.protocol",
    "ProbeStatsReporter": "mapbench.protocol",
    "Snapshottable": "mapbench.protocol",
    "ThreadSafe": "mapbench.protocol",
    "capabilities_of": "mapbench.protocol",
    "MapInfo": "mapbench.registry",
    "MapSpec": "mapbench.registry",
    "create": "mapbench.registry",
    "parse_spec": "mapbench.registry",
    "Measurement": "mapbench.schema",
    "MapSpecError": "mapbench.spec",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mapbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
]
