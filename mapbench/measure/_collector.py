"""What every collector is: one pass over a case that returns plain numbers with units."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import ClassVar

from mapbench.errors import MapbenchError
from mapbench.schema import Measurement
from mapbench.workloads import Case


class MetricsError(MapbenchError, RuntimeError):
    """A collector that cannot run here or now (e.g. tracemalloc already tracing)."""


class Unmeasurable(MetricsError):
    """This collector cannot measure this map (e.g. no probe statistics): recorded, not fatal."""


class Collector:
    """One pass over a case: `collect(case)` resets the case, runs it as it needs, and returns
    the measurements. Each collector gets a pass of its own, so none disturbs another. What
    each metric means, its unit and the GC policy of its pass are in `mapbench.catalog`.
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def collect(self, case: Case) -> list[Measurement]:
        raise NotImplementedError


def threads_ran() -> bool:
    """Whether Python threads besides this one exist (a concurrent workload, a map's own
    worker thread): what they allocate interleaves differently every run, so counts taken
    meanwhile are not exact."""
    return threading.active_count() > 1


THREADS_NOTE = "threads ran beside the measured one: not exact (kind noisy)"


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 < q <= 100) of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(round(q / 100 * len(ordered), 9)))  # 99.9% of 1000 is 999, not 1000
    return ordered[rank - 1]
