"""The quick CI subset: `asv run --bench '^ci\\.'` (a few minutes; see docs/suites.md).

Smaller versions of the default suite's benchmarks, so a CI run still draws time, GC pause,
allocation and probe-length graphs for every map. Names differ from the full suite's, so the
two never mix in one graph.
"""

from __future__ import annotations

from . import suite as _suite
from ._harness import DEFAULT_KEY_KIND, MAPS


class TimeWorkloads(_suite.TimeWorkloads):
    """Seconds per run of insert and hit lookups of 1,000 random int keys."""

    params = (MAPS, ("insert", "lookup-hit"), (DEFAULT_KEY_KIND,), (1_000,))
    repeat = (3, 10, 0.5)
    rounds = 1


class GcPauses(_suite.GcPauses):
    """GC pauses and collections of one write-heavy run on 1,000 records (as objects in a dict,
    as JSON bytes in a C or mmap map)."""

    params = (MAPS, ("write-heavy",), (DEFAULT_KEY_KIND,), (1_000,), ("record",))


class Allocations(_suite.Allocations):
    """What inserting 1,000 keys allocates."""

    params = (MAPS, ("insert",), (DEFAULT_KEY_KIND,), (1_000,))


class ProbeLengths(_suite.ProbeLengths):
    """Probe lengths of a table of 10,000 random int keys."""

    params = (MAPS, ("insert",), ("random-int",), (10_000,))
