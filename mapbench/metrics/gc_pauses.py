"""GC pauses from `gc.callbacks`: collections and collected objects per generation, pause times."""

from __future__ import annotations

import gc
import time
from typing import Any

from mapbench.measurement import Measurement
from mapbench.metrics._base import Collector, gc_note, percentile


class GcPauses(Collector):
    """Every collection the GC runs inside the context: its generation, pause and yield.

    The callback costs two `perf_counter_ns()` calls per collection, so it may share a pass with
    nothing but itself; every figure notes `gc.get_threshold()`, whether the GC was enabled and
    the Python version, since all three change what the GC does.
    """

    name = "gc"
    description = "GC pauses and collections per generation (gc.callbacks)"

    def __init__(self) -> None:
        self.pauses: list[
            tuple[int, int, int, int]
        ] = []  # generation, ns, collected, uncollectable
        self._started = 0
        self._note = ""

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        if phase == "start":
            self._started = now
        else:
            self.pauses.append(
                (info["generation"], now - self._started, info["collected"], info["uncollectable"])
            )

    def __enter__(self) -> GcPauses:
        self._note = gc_note()
        self.pauses.clear()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def measurements(self) -> list[Measurement]:
        note = self._note
        out = []
        for gen in (0, 1, 2):
            of_gen = [p for p in self.pauses if p[0] == gen]
            out += [
                Measurement(
                    f"gc_collections_gen{gen}", len(of_gen), "", "deterministic", note=note
                ),
                Measurement(
                    f"gc_pause_total_gen{gen}", sum(p[1] for p in of_gen) / 1e9, "s", note=note
                ),
            ]
        seconds = sorted(p[1] / 1e9 for p in self.pauses)
        out += [
            Measurement("gc_collections", len(seconds), "", "deterministic", note=note),
            Measurement(
                "gc_collected_objects",
                sum(p[2] for p in self.pauses),
                "objects",
                "deterministic",
                note=note,
            ),
            Measurement(
                "gc_uncollectable_objects",
                sum(p[3] for p in self.pauses),
                "objects",
                "deterministic",
                note=note,
            ),
            Measurement("gc_pause_total", sum(seconds), "s", note=note),
        ]
        if seconds:
            out += [
                Measurement("gc_pause_mean", sum(seconds) / len(seconds), "s", note=note),
                Measurement("gc_pause_p50", percentile(seconds, 50), "s", note=note),
                Measurement("gc_pause_p99", percentile(seconds, 99), "s", note=note),
                Measurement("gc_pause_max", seconds[-1], "s", note=note),
            ]
        return out
