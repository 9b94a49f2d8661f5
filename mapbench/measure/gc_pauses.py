"""GC pauses from `gc.callbacks`: collections and collected objects per generation, pause times."""

from __future__ import annotations

import gc
import time
from typing import Any

from mapbench.catalog import measurement
from mapbench.measure._collector import Collector, gc_note, percentile
from mapbench.schema import Measurement
from mapbench.workloads import Case


class GcPauses(Collector):
    """Every collection the GC runs during one run of the case: its generation, pause and yield.

    The GC is on for this pass (collected just before the run, so every pass starts with empty
    young generations). The callback costs two `perf_counter_ns()` calls per collection; every
    figure notes `gc.get_threshold()` and the Python version, since both change what the GC does.
    """

    name = "gc"
    description = "GC pauses and collections per generation (gc.callbacks)"

    def __init__(self) -> None:
        self.pauses: list[
            tuple[int, int, int, int]
        ] = []  # generation, ns, collected, uncollectable
        self._started = 0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        if phase == "start":
            self._started = now
        else:
            self.pauses.append(
                (info["generation"], now - self._started, info["collected"], info["uncollectable"])
            )

    def collect(self, case: Case) -> list[Measurement]:
        case.reset()
        self.pauses.clear()
        was_enabled = gc.isenabled()
        gc.collect()
        gc.enable()
        gc.callbacks.append(self._callback)
        try:
            case.run()
        finally:
            gc.callbacks.remove(self._callback)
            if not was_enabled:
                gc.disable()
        return self._measurements(gc_note())

    def _measurements(self, note: str) -> list[Measurement]:
        out = []
        for gen in (0, 1, 2):
            of_gen = [p for p in self.pauses if p[0] == gen]
            out += [
                measurement(f"gc_collections_gen{gen}", len(of_gen), note=note),
                measurement(f"gc_pause_total_gen{gen}", sum(p[1] for p in of_gen) / 1e9, note=note),
            ]
        seconds = sorted(p[1] / 1e9 for p in self.pauses)
        out += [
            measurement("gc_collections", len(seconds), note=note),
            measurement("gc_collected_objects", sum(p[2] for p in self.pauses), note=note),
            measurement("gc_uncollectable_objects", sum(p[3] for p in self.pauses), note=note),
            measurement("gc_pause_total", sum(seconds), note=note),
        ]
        if seconds:
            out += [
                measurement("gc_pause_mean", sum(seconds) / len(seconds), note=note),
                measurement("gc_pause_p50", percentile(seconds, 50), note=note),
                measurement("gc_pause_p99", percentile(seconds, 99), note=note),
                measurement("gc_pause_max", seconds[-1], note=note),
            ]
        return out
