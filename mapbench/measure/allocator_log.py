"""Every native allocation call a block of code makes (memray): what code outside Python's
allocator (a C map, libc, an extension) asks the C allocator and mmap for.

memray's `Tracker` hooks, in every loaded library, the C allocator (malloc, calloc, realloc,
posix_memalign, aligned_alloc, memalign, valloc, pvalloc, free) and mmap/munmap. It is run with
`trace_python_allocators`, so that what Python's allocator itself asks of malloc and mmap
underneath (blocks over 512 bytes, pymalloc's arenas) happens inside memray's Python-allocator
hook and is not recorded as native. Python's allocator calls themselves are not counted here:
the tracker installs a profile hook, under which CPython makes a frame object for every
Python-level call; `mapbench.measure.python_allocator` counts them without one. Frames never
reach native memory on their own (pymalloc serves them), so the native counts are the code's.

Blind spots, by construction: calls through a pointer from `dlsym` (ctypes'
`CDLL(None).malloc`), allocators linked statically into a library, mremap/brk/sbrk, and kernel
memory. memray records no mmap flags, so an mmap call counts here whether it maps a file or
not; `classify_mappings` tells the two apart for mappings still live (from /proc/self/maps).
"""

from __future__ import annotations

import contextlib
import mmap
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapbench.measure._collector import Unmeasurable

PAGE = mmap.PAGESIZE


def _memray() -> Any:
    """The memray module, or `Unmeasurable` saying why it cannot be used here."""
    try:
        import memray
    except ImportError as exc:  # not installed, or no build for this platform
        raise Unmeasurable(f"memray is unavailable ({exc}): native allocations not seen") from exc
    return memray


@dataclass(frozen=True)
class Tally:
    """What one tracked block allocated natively: calls and bytes, net and peak.

    Bytes are what each call asked for (a realloc counts its new size; an mmap its length
    rounded up to whole pages). Net and peak count only blocks allocated inside the block of
    code (freeing older memory credits nothing), as tracemalloc does.
    """

    native_calls: int
    native_bytes: int
    native_net: int
    native_peak: int
    # mmap'd regions made inside the block and still mapped at its end: address -> bytes
    mappings: Mapping[int, int]

    def __sub__(self, other: Tally) -> Tally:
        """The difference of two blocks' counts (net, peak and mappings kept from `self`)."""
        return Tally(
            self.native_calls - other.native_calls,
            self.native_bytes - other.native_bytes,
            self.native_net,
            self.native_peak,
            self.mappings,
        )


def track(fn: Callable[[], object]) -> Tally:
    """Run `fn` under memray and count what it allocated natively."""
    with _tracked(fn) as (memray, path), memray.FileReader(path) as reader:
        return tally(reader.get_allocation_records())


@contextlib.contextmanager
def _tracked(fn: Callable[[], object]) -> Iterator[tuple[Any, Path]]:
    """memray and the file of a tracked call of `fn`, removed after the block."""
    memray = _memray()
    directory = Path(tempfile.mkdtemp(prefix="mapbench-memray-"))
    try:
        # One fixed name in a fixed-length directory name: the tracker's own bookkeeping
        # allocates the same whatever ran before.
        path = directory / "calls.bin"
        destination = memray.FileDestination(path, overwrite=True, compress_on_exit=False)
        with memray.Tracker(destination=destination, trace_python_allocators=True):
            fn()
        yield memray, path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def tally(records: Iterable[Any]) -> Tally:
    """Count memray allocation records (in the order they happened)."""
    from memray import AllocatorType as A

    native_alloc = {
        int(a)
        for a in (
            A.MALLOC, A.CALLOC, A.REALLOC, A.POSIX_MEMALIGN, A.ALIGNED_ALLOC, A.MEMALIGN,
            A.VALLOC, A.PVALLOC,
        )
    }  # fmt: skip
    free = int(A.FREE)
    do_mmap, do_munmap = int(A.MMAP), int(A.MUNMAP)
    calls = allocated = current = peak = 0
    blocks: dict[int, int] = {}
    maps = _Mappings()
    for r in records:  # millions for a big run: Python's allocator's records skipped below
        kind = r.allocator
        if kind in native_alloc:
            calls += 1
            allocated += r.size
            current += r.size - blocks.get(r.address, 0)
            blocks[r.address] = r.size
        elif kind == free:
            current -= blocks.pop(r.address, 0)
        elif kind == do_mmap:
            size = -(-r.size // PAGE) * PAGE
            calls += 1
            allocated += size
            current += maps.add(r.address, size)
        elif kind == do_munmap:
            current -= maps.remove(r.address, r.size)
        peak = max(peak, current)
    return Tally(calls, allocated, current, peak, dict(maps.regions))


class _Mappings:
    """Live mmap'd regions made while tracking; munmap may release any part of one."""

    def __init__(self) -> None:
        self.regions: dict[int, int] = {}

    def add(self, start: int, size: int) -> int:
        """Record a new mapping; the bytes it adds (a fixed mapping may replace one of ours)."""
        replaced = self.remove(start, size)
        self.regions[start] = size
        return size - replaced

    def remove(self, start: int, size: int) -> int:
        """Unmap [start, start+size): the bytes of our mappings it released."""
        end = start + -(-size // PAGE) * PAGE
        released = 0
        for base, length in list(self.regions.items()):
            top = base + length
            if top <= start or base >= end:
                continue
            del self.regions[base]
            released += min(top, end) - max(base, start)
            if base < start:
                self.regions[base] = start - base
            if top > end:
                self.regions[end] = top - end
        return released


def classify_mappings(mappings: Mapping[int, int], maps_text: str) -> tuple[int, int]:
    """(anonymous, file-backed) bytes of `mappings`, by what /proc/self/maps says each is."""
    spans = []
    for line in maps_text.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        low, high = (int(x, 16) for x in fields[0].split("-"))
        # No inode: private anonymous memory; shared anonymous memory (mmap(-1, n) in
        # Python) is backed by the kernel's "/dev/zero (deleted)"; anything else is a file.
        path = " ".join(fields[5:])
        spans.append((low, high, fields[4] != "0" and not path.startswith("/dev/zero")))
    anonymous = backed = 0
    for start, size in mappings.items():
        is_file = next((f for low, high, f in spans if low <= start < high), False)
        if is_file:
            backed += size
        else:
            anonymous += size
    return anonymous, backed


def process_maps() -> str:
    """This process's /proc/self/maps ("" where there is none)."""
    try:
        return Path("/proc/self/maps").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""


__all__ = [
    "PAGE",
    "Tally",
    "classify_mappings",
    "process_maps",
    "tally",
    "track",
]
