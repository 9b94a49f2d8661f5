"""What every collector is: a context manager around the measured code, then plain numbers."""

from __future__ import annotations

import gc
import math
import platform
from collections.abc import Sequence
from types import TracebackType
from typing import ClassVar, TypeVar

from mapbench.errors import MapbenchError
from mapbench.measurement import Measurement
from mapbench.workloads import Case

C = TypeVar("C", bound="Collector")


class MetricsError(MapbenchError, RuntimeError):
    """A collector that cannot run here or now (e.g. tracemalloc already tracing)."""


class Collector:
    """Measures what runs inside `with collector:`; `measurements()` then returns the numbers.

    `drive(case)` is what `collect()` runs inside the context: one `case.run()` unless the
    collector needs to drive the case itself (per-operation timing, fresh maps).
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def __enter__(self: C) -> C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def drive(self, case: Case) -> None:
        """The work measured in `collect()`'s pass for this collector."""
        case.run()

    def measurements(self) -> list[Measurement]:
        raise NotImplementedError


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 < q <= 100) of an already sorted, non-empty sequence."""
    rank = max(1, math.ceil(round(q / 100 * len(ordered), 9)))  # 99.9% of 1000 is 999, not 1000
    return ordered[rank - 1]


def gc_note() -> str:
    """The GC settings every GC figure depends on, as a note."""
    enabled = "enabled" if gc.isenabled() else "disabled"
    return f"gc threshold {gc.get_threshold()}, gc {enabled}, Python {platform.python_version()}"
