"""Memory per entry of a map holding the case's keys, from Python's allocators and from malloc."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import tracemalloc
from collections.abc import Callable

from mapbench.measure._collector import Collector, MetricsError
from mapbench.measure.catalog import measurement
from mapbench.measure.timing import gc_paused
from mapbench.protocol import Map, Persistent
from mapbench.schema import Measurement
from mapbench.workloads import Case


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    """glibc's mallinfo2() (2.33+), or None where it does not exist."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        func = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    func.restype = _MallInfo2
    func.argtypes = []
    result: Callable[[], _MallInfo2] = func
    return result


def malloc_in_use() -> int | None:
    """Bytes currently allocated through C malloc (heap plus mmapped chunks), if knowable."""
    info = _mallinfo2()
    if info is None:
        return None
    snapshot = info()
    return int(snapshot.uordblks + snapshot.hblkhd)


def _fill(case: Case, m: Map | None = None) -> Map:
    m = case.make_map() if m is None else m
    m.update(zip(case.keys, case.values, strict=True))
    return m


class MemoryPerEntry(Collector):
    """Bytes per entry that filling a fresh, empty map with the case's keys adds (keys and
    values exist beforehand; the empty map's own structure is not counted).

    Two fills: one under tracemalloc (everything through Python's allocators, exact), one
    reading glibc's malloc counters (what C maps allocate with malloc, plus Python's large
    blocks). `memory_per_entry` is the larger of the two. Persistent maps also report their file.
    A first, unmeasured fill leaves the interpreter's free lists as a fill leaves them.
    """

    name = "memory"
    description = "bytes per entry of a filled map (tracemalloc; glibc malloc counters)"

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
        with gc_paused():
            m = case.make_map()
            before = malloc_in_use()
            _fill(case, m)
            after = malloc_in_use()
            file_bytes = None
            if isinstance(m, Persistent):
                m.flush()
                file_bytes = os.path.getsize(m.path)
            m.close()
        n = max(entries, 1)
        note = f"filling a fresh map with {entries} entries; keys and values allocated beforehand"
        out = [
            measurement("memory_traced_bytes_per_entry", traced / n, note=f"tracemalloc; {note}"),
            measurement(
                "memory_traced_peak_bytes_per_entry",
                traced_peak / n,
                note="tracemalloc peak while filling (resizes)",
            ),
        ]
        best = traced
        if before is not None and after is not None:
            malloc = after - before
            out.append(
                measurement(
                    "memory_malloc_bytes_per_entry", malloc / n, note=f"glibc mallinfo2; {note}"
                )
            )
            best = max(best, malloc)
        out.append(
            measurement(
                "memory_bytes_per_entry", best / n, note="larger of the traced and malloc figures"
            )
        )
        if file_bytes is not None:
            out.append(measurement("memory_file_bytes_per_entry", file_bytes / n))
        return out
