"""GC pauses from `gc.callbacks`: collections, pauses and examined objects per generation."""

from __future__ import annotations

import gc
import platform
import time
from typing import Any, NamedTuple

from mapbench.catalog import measurement
from mapbench.measure._collector import Collector, percentile
from mapbench.schema import Measurement
from mapbench.workloads import Case

GENERATIONS = (0, 1, 2)


class Pause(NamedTuple):
    """One collection: its generation, pause (wall and the thread's CPU time), the objects it
    examined, freed and could not."""

    generation: int
    ns: int
    cpu_ns: int
    examined: int
    collected: int
    uncollectable: int


def gc_state() -> str:
    """The collector settings every GC figure depends on, as a note."""
    return (
        f"gc threshold {gc.get_threshold()}, {gc.get_freeze_count()} objects frozen, "
        f"Python {platform.python_version()}"
    )


class GcPauses(Collector):
    """Every collection the GC runs during one run of the case, and the run's time, GC on.

    The GC is on for this pass (collected just before the run, so every pass starts with empty
    young generations), with whatever thresholds and frozen objects the case set up. No
    interpreter from 3.10 to 3.13 reports how many objects a collection examines, so the start
    callback counts them (`gc.get_objects(generation)` for the collected generation and the
    younger ones it merges, as CPython's DEBUG_STATS prints them) before it reads the clock:
    the count costs time, but outside the pause, and is taken out of the run's GC-on time too.
    The pause is the time between the callback's "start" and "stop", so it includes the
    objects' finalizers and frees; its CPU time (`thread_time`) leaves out the time the thread
    waited for a core, which on a loaded machine can be most of a long pause.
    """

    name = "gc"
    description = "GC pauses, collections and examined objects per generation (gc.callbacks)"

    def __init__(self) -> None:
        self.pauses: list[Pause] = []
        self._started = self._started_cpu = 0
        self._examined = 0
        self._counting_ns = 0  # spent counting examined objects: the observer's, not the run's

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            counting = time.perf_counter_ns()
            young = range(info["generation"] + 1)
            self._examined = sum(len(gc.get_objects(generation=g)) for g in young)
            self._started_cpu = time.thread_time_ns()
            self._started = time.perf_counter_ns()
            self._counting_ns += self._started - counting
        else:
            ns = time.perf_counter_ns() - self._started
            cpu_ns = time.thread_time_ns() - self._started_cpu
            self.pauses.append(
                Pause(info["generation"], ns, cpu_ns, self._examined, info["collected"],
                      info["uncollectable"])
            )  # fmt: skip

    def collect(self, case: Case) -> list[Measurement]:
        case.reset()
        self.pauses.clear()
        self._counting_ns = 0
        was_enabled = gc.isenabled()
        gc.collect()
        gc.enable()
        gc.callbacks.append(self._callback)
        try:
            start = time.perf_counter_ns()
            case.run()
            elapsed = time.perf_counter_ns() - start - self._counting_ns
        finally:
            gc.callbacks.remove(self._callback)
            if not was_enabled:
                gc.disable()
        frozen = gc.get_freeze_count()
        tracked = len(gc.get_objects())
        note = gc_state()
        return [
            *self._measurements(note),
            measurement("gc_tracked_objects", tracked, note=note),
            measurement("gc_frozen_objects", frozen, note=note),
            measurement("time_gc_on", elapsed / 1e9 / case.ops, note=note),
        ]

    def _measurements(self, note: str) -> list[Measurement]:
        out = []
        for gen in GENERATIONS:
            of_gen = [p.ns / 1e9 for p in self.pauses if p.generation == gen]
            out += [
                measurement(f"gc_collections_gen{gen}", len(of_gen), note=note),
                measurement(f"gc_pause_total_gen{gen}", sum(of_gen), note=note),
                measurement(f"gc_pause_max_gen{gen}", max(of_gen, default=0.0), note=note),
            ]
        seconds = sorted(p.ns / 1e9 for p in self.pauses)
        cpu = [p.cpu_ns / 1e9 for p in self.pauses]
        cpu_full = [p.cpu_ns / 1e9 for p in self.pauses if p.generation == GENERATIONS[-1]]
        out += [
            measurement("gc_collections", len(seconds), note=note),
            measurement("gc_examined_objects", sum(p.examined for p in self.pauses), note=note),
            measurement("gc_collected_objects", sum(p.collected for p in self.pauses), note=note),
            measurement(
                "gc_uncollectable_objects", sum(p.uncollectable for p in self.pauses), note=note
            ),
            measurement("gc_pause_total", sum(seconds), note=note),
            measurement("gc_pause_cpu_total", sum(cpu), note=note),
            measurement("gc_pause_cpu_max", max(cpu, default=0.0), note=note),
            measurement("gc_pause_cpu_max_gen2", max(cpu_full, default=0.0), note=note),
        ]
        if seconds:
            out += [
                measurement("gc_pause_mean", sum(seconds) / len(seconds), note=note),
                measurement("gc_pause_p50", percentile(seconds, 50), note=note),
                measurement("gc_pause_p90", percentile(seconds, 90), note=note),
                measurement("gc_pause_p99", percentile(seconds, 99), note=note),
                measurement("gc_pause_max", seconds[-1], note=note),
            ]
        return out
