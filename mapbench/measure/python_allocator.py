"""Calls to Python's allocator a block of code makes, counted without observing anything else.

The counter (`mapbench.measure._pyalloc`, C) wraps the raw, mem and object allocator domains
with `PyMem_SetAllocator`, as tracemalloc does, and counts each successful malloc, calloc and
realloc and the bytes it asked for. It installs no profile or trace hook: under one (memray's
`Tracker`, `sys.setprofile`) CPython makes a frame object for every Python-level call, which
an allocation count would then report as the code's own (8 bytes more per local variable).
What this counts is what the measured code asks of Python's allocator and nothing else: a
local variable, a loop or a call of a Python function that allocates nothing counts 0
(tests/test_measure_allocations.py proves it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mapbench.measure._collector import Unmeasurable


@dataclass(frozen=True)
class PythonAllocations:
    """Calls to Python's allocator (all three domains) and the bytes they asked for."""

    calls: int
    bytes: int

    def __sub__(self, other: PythonAllocations) -> PythonAllocations:
        return PythonAllocations(self.calls - other.calls, self.bytes - other.bytes)


def count(fn: Callable[[], object]) -> PythonAllocations:
    """Run `fn` with the counting hooks installed; what it asked of Python's allocator."""
    try:
        from mapbench.measure import _pyalloc
    except ImportError as exc:  # a build without the extension (a source checkout not built)
        raise Unmeasurable(f"the allocation counter is not built ({exc})") from exc
    _pyalloc.start()
    try:
        fn()
    finally:
        domains = _pyalloc.stop()
    return PythonAllocations(sum(c for c, _ in domains), sum(b for _, b in domains))


__all__ = ["PythonAllocations", "count"]
