"""Memory per entry of a map holding the case's keys, from Python's allocators and from malloc."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import tracemalloc
from collections.abc import Callable

from mapbench.measurement import Measurement
from mapbench.metrics._base import Collector, MetricsError
from mapbench.protocol import Persistent
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


class MemoryPerEntry(Collector):
    """Bytes per entry of a fresh map filled with the case's keys (keys and values pre-exist).

    Two builds: one under tracemalloc (everything through Python's allocators, exact), one
    reading glibc's malloc counters (what C maps allocate with malloc, plus Python's large
    blocks). `memory_per_entry` is the larger of the two. Persistent maps also report their file.
    """

    name = "memory"
    description = "bytes per entry of a filled map (tracemalloc; glibc malloc counters)"

    def __init__(self) -> None:
        self.entries = 0
        self.traced = self.traced_peak = 0
        self.malloc: int | None = None
        self.file_bytes: int | None = None

    def drive(self, case: Case) -> None:
        if tracemalloc.is_tracing():
            raise MetricsError("tracemalloc is already tracing; memory figures would be mixed")
        gc.collect()
        tracemalloc.start(1)
        try:
            m = case.make_map()
            m.update(zip(case.keys, case.values, strict=True))
            self.traced, self.traced_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.entries = len(m)
        m.close()
        del m
        gc.collect()
        before = malloc_in_use()
        m = case.make_map()
        m.update(zip(case.keys, case.values, strict=True))
        after = malloc_in_use()
        if before is not None and after is not None:
            self.malloc = after - before
        if isinstance(m, Persistent):
            m.flush()
            self.file_bytes = os.path.getsize(m.path)
        m.close()

    def measurements(self) -> list[Measurement]:
        n = max(self.entries, 1)
        note = f"fresh map with {self.entries} entries; keys and values allocated beforehand"
        out = [
            Measurement(
                "memory_traced_bytes_per_entry",
                self.traced / n,
                "B",
                "deterministic",
                note=f"tracemalloc; {note}",
            ),
            Measurement(
                "memory_traced_peak_bytes_per_entry",
                self.traced_peak / n,
                "B",
                "deterministic",
                note="tracemalloc peak while filling (resizes)",
            ),
        ]
        best = self.traced
        if self.malloc is not None:
            out.append(
                Measurement(
                    "memory_malloc_bytes_per_entry",
                    self.malloc / n,
                    "B",
                    note=f"glibc mallinfo2 delta; {note}",
                )
            )
            best = max(best, self.malloc)
        out.append(
            Measurement(
                "memory_bytes_per_entry",
                best / n,
                "B",
                "deterministic" if best == self.traced else "noisy",
                note="larger of the traced and malloc figures",
            )
        )
        if self.file_bytes is not None:
            out.append(
                Measurement(
                    "memory_file_bytes_per_entry",
                    self.file_bytes / n,
                    "B",
                    "deterministic",
                    note="size of the map's file",
                )
            )
        return out
