"""Memory per entry of a map holding the case's keys: Python's allocator, native code's malloc
and anonymous mmap, and file-backed mappings, each on its own."""

from __future__ import annotations

import os
import tracemalloc

import msgspec

from mapbench.catalog import measurement
from mapbench.measure import allocator_log
from mapbench.measure._collector import THREADS_NOTE, Collector, MetricsError, threads_ran
from mapbench.measure.timing import gc_paused
from mapbench.protocol import Map, Persistent
from mapbench.schema import Measurement
from mapbench.workloads import Case


def _fill(case: Case, m: Map | None = None) -> Map:
    m = case.make_map() if m is None else m
    m.update(case.fill_items())
    return m


class MemoryPerEntry(Collector):
    """Bytes per entry that filling a fresh, empty map with the case's keys adds and keeps (keys
    and values exist beforehand; the empty map's own structure is not counted).

    Two fills of a fresh map, GC paused: one under tracemalloc (Python's allocator), one under
    memray (native code's malloc family and mmap; what Python's allocator asks of malloc is not
    counted again). mmap'd regions still mapped after the fill are told apart by
    /proc/self/maps: anonymous ones are native memory, file-backed ones a metric of their own.
    A first, unmeasured fill leaves the interpreter's caches and free lists as a fill leaves them.
    """

    name = "memory"
    description = "bytes per entry of a filled map: Python, native (malloc, mmap), file mappings"

    def collect(self, case: Case) -> list[Measurement]:
        if tracemalloc.is_tracing():
            raise MetricsError("tracemalloc is already tracing; memory figures would be mixed")
        _fill(case).close()
        with gc_paused():
            m = case.make_map()
            tracemalloc.start(1)
            try:
                _fill(case, m)
                traced, traced_peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            entries = len(m)
            m.close()
            del m
        m = case.make_map()
        with gc_paused():
            native = allocator_log.track(lambda: _fill(case, m))
            anonymous, file_backed = allocator_log.classify_mappings(
                native.mappings, allocator_log.process_maps()
            )
        file_bytes = None
        if isinstance(m, Persistent):
            m.flush()
            file_bytes = os.path.getsize(m.path)
        m.close()
        n = max(entries, 1)
        note = f"filling a fresh map with {entries} entries; keys and values allocated beforehand"
        malloc = native.native_net - anonymous - file_backed
        native_note = (
            f"memray: {malloc} B malloc family, {anonymous} B anonymous mmap (whole pages); {note}"
        )
        out = [
            measurement("memory_traced_bytes_per_entry", traced / n, note=f"tracemalloc; {note}"),
            measurement(
                "memory_traced_peak_bytes_per_entry",
                traced_peak / n,
                note="tracemalloc peak while filling (resizes)",
            ),
            measurement(
                "memory_native_bytes_per_entry", (malloc + anonymous) / n, note=native_note
            ),
            measurement(
                "memory_bytes_per_entry",
                (traced + malloc + anonymous) / n,
                note="Python's allocator (tracemalloc) plus native memory (memray)",
            ),
            measurement(
                "memory_file_mapped_bytes_per_entry",
                file_backed / n,
                note=f"file-backed mappings the fill left mapped (memray, /proc/self/maps); {note}",
            ),
        ]
        if file_bytes is not None:
            out.append(measurement("memory_file_bytes_per_entry", file_bytes / n))
        if threads_ran():  # what a map's own thread allocates meanwhile is not exactly repeatable
            out = [
                msgspec.structs.replace(m, kind="noisy", note=f"{m.note}; {THREADS_NOTE}")
                for m in out
            ]
        return out
