"""Allocation figures are facts about the measured code, not about the measurer.

`ShardedMap.__getitem__` rewritten four ways: with more locals and a loop, with one more
Python-level call, with both (none allocates anything), and with one `object()` more per lookup.
Every exact allocation figure must be the same for the first three as for the original, and the
last must read exactly +1 alloc/op of `object.__basicsize__` bytes.
"""

from __future__ import annotations

import itertools
import tracemalloc
from typing import Any

import pytest
from mapbench.impls.sharded import ShardedMap

from mapbench.measure import collect, python_allocator
from mapbench.workloads import get_workload

EXACT = ("allocations", "tracemalloc", "blocks")


def _same(x: Any) -> Any:
    return x


class MoreLocals(ShardedMap):
    def __getitem__(self, key: Any) -> Any:
        i = self._index(key)
        a, b, c, d = 1, 2, 3, 4  # noqa: F841 (locals that allocate nothing: the point)
        spin = 0
        while spin < 5:
            spin += 1
        with self._locks[i]:
            return self._shards[i][key]


class OneMoreCall(ShardedMap):
    def __getitem__(self, key: Any) -> Any:
        i = _same(self._index(key))
        with self._locks[i]:
            return self._shards[i][key]


class Both(ShardedMap):
    def __getitem__(self, key: Any) -> Any:
        i = _same(self._index(key))
        spin = 0
        while spin < 5:
            spin += 1
        with self._locks[i]:
            return self._shards[i][key]


class OneMoreObject(ShardedMap):
    def __getitem__(self, key: Any) -> Any:
        i = self._index(key)
        self._last = object()  # object() has no free list: one allocation every lookup
        with self._locks[i]:
            return self._shards[i][key]


def _exact(cls: type[ShardedMap]) -> dict[str, float]:
    pytest.importorskip("memray")
    case = get_workload("lookup-hit").prepare(cls, 2000, "random-int")
    try:
        found = collect(case, EXACT)
    finally:
        case.close()
    assert not found.unavailable, found.unavailable
    return {m.name: m.value for m in found.measurements if m.kind == "deterministic"}


@pytest.fixture(scope="module")
def plain() -> dict[str, float]:
    # The first tracemalloc pass in a process may find one block of the interpreter's own
    # (3.10, 3.13): every figure below is taken after one.
    _exact(ShardedMap)
    return _exact(ShardedMap)


def test_figures_repeat_exactly(plain: dict[str, float]) -> None:
    assert set(plain) >= {
        "alloc_python_calls_per_op", "alloc_python_bytes_per_op", "alloc_native_calls_per_op",
        "alloc_native_bytes_per_op", "alloc_net_bytes", "alloc_peak_bytes",
    }  # fmt: skip
    assert _exact(ShardedMap) == plain


@pytest.mark.parametrize("cls", [MoreLocals, OneMoreCall, Both], ids=lambda c: c.__name__)
def test_code_that_allocates_nothing_changes_no_exact_metric(
    cls: type[ShardedMap], plain: dict[str, float]
) -> None:
    assert _exact(cls) == plain


def test_one_allocation_more_per_op_reads_plus_one(plain: dict[str, float]) -> None:
    extra = _exact(OneMoreObject)
    # Per-op figures are differences of counts over 500 ops: exact up to float rounding.
    calls = extra["alloc_python_calls_per_op"] - plain["alloc_python_calls_per_op"]
    added = extra["alloc_python_bytes_per_op"] - plain["alloc_python_bytes_per_op"]
    assert round(calls, 9) == 1
    assert round(added, 9) == object.__basicsize__
    assert extra["alloc_native_calls_per_op"] == plain["alloc_native_calls_per_op"]


def test_the_counter_counts_each_domain_and_nothing_of_a_plain_call() -> None:
    def call(x: int) -> int:
        return x

    def calls(n: int) -> None:
        for _ in itertools.repeat(None, n):
            call(1)

    calls(1)  # a first call may allocate once (3.10's cached frame, 3.13's specialisation)
    assert python_allocator.count(lambda: calls(10)) == python_allocator.count(lambda: calls(1000))
    args = [None] * 1000
    blocks = python_allocator.count(lambda: [bytearray(100) for _ in args])
    assert blocks.calls >= 2000  # the object and its buffer: two calls each
    assert blocks.bytes >= 1000 * 101


def test_the_counter_refuses_to_be_wrapped_and_cleans_up() -> None:
    from mapbench.measure import _pyalloc

    def starts_tracemalloc() -> None:
        tracemalloc.start()

    with pytest.raises(RuntimeError, match="tracemalloc"):
        python_allocator.count(starts_tracemalloc)
    tracemalloc.stop()
    assert _pyalloc.running()
    _pyalloc.stop()  # tracemalloc gone, the counter's own hooks are on top again
    assert not _pyalloc.running()
    with pytest.raises(RuntimeError, match="not running"):
        _pyalloc.stop()
