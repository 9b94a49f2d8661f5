"""The live dict reader agrees exactly with the model of CPython's probing and refuses garbage."""

from __future__ import annotations

import ctypes
import sys
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapbench.measure.dictprobe import (
    DictProbeError,
    dict_probe_stats,
    merge_probe_stats,
    model_log2_size,
    model_table,
    modelled_dict_probe_stats,
    read_table,
    reader_unsupported,
    table_probe_stats,
)
from mapbench.registry import parse_spec
from mapbench.workloads import KEY_KINDS, make_keys

needs_reader = pytest.mark.skipif(
    reader_unsupported() is not None, reason=f"dict reader: {reader_unsupported()}"
)


def _built(keys: list[Any]) -> dict[Any, int]:
    d: dict[Any, int] = {}
    for i, k in enumerate(keys):
        d[k] = i
    return d


def test_reader_runs_on_every_supported_cpython() -> None:
    if sys.implementation.name == "cpython" and (3, 10) <= sys.version_info[:2] <= (3, 13):
        assert reader_unsupported() is None


@needs_reader
@pytest.mark.parametrize("kind", KEY_KINDS)
@pytest.mark.parametrize("n", [0, 1, 5, 6, 11, 700, 20_000])
def test_reader_equals_model_for_dicts_built_without_deletions(kind: str, n: int) -> None:
    d = _built(make_keys(kind, n, seed=3))
    table = read_table(d)
    assert table.log2_size == model_log2_size(n)
    model = model_table(d, table.log2_size)
    assert np.array_equal(table.indices, model.indices)
    read, modelled = table_probe_stats(table), modelled_dict_probe_stats(d)
    assert read.source == "measured" and modelled.source == "modelled"
    assert read.hit_histogram == modelled.hit_histogram
    assert read.miss_histogram == modelled.miss_histogram
    assert (read.size, read.capacity) == (n, 1 << table.log2_size)
    assert sum(read.hit_histogram) == n and sum(read.miss_histogram) == read.capacity
    if kind == "seq-int":  # hash(i) == i: every key sits in its home slot
        assert read.hit_max <= 1


@needs_reader
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**70), 2**70) | st.text(max_size=6), unique=True, max_size=300))
def test_reader_equals_model_for_any_keys(keys: list[Any]) -> None:
    d = _built(keys)
    table = read_table(d)
    assert np.array_equal(table.indices, model_table(d, table.log2_size).indices)


@needs_reader
def test_uniform_hashing_theory_holds_for_random_keys() -> None:
    stats = dict_probe_stats(_built(make_keys("random-int", 100_000)))
    alpha = stats.load_factor
    assert stats.capacity == 262_144
    # Knuth, uniform hashing: S = ln(1/(1-a))/a, U = 1/(1-a) (MEASUREMENT.md: within ~0.5%).
    assert stats.hit_mean == pytest.approx(np.log(1 / (1 - alpha)) / alpha, rel=0.01)
    assert stats.miss_mean == pytest.approx(1 / (1 - alpha), rel=0.01)


@needs_reader
def test_deletions_leave_tombstones_the_model_does_not_know() -> None:
    d = _built(list(range(1000)))
    for k in range(0, 1000, 3):
        del d[k]
    table = read_table(d)
    stats = table_probe_stats(table)
    assert stats.tombstones == 334 and stats.size == 666
    assert stats.extra["entries_used"] == 1000
    assert stats.hit_mean == 1.0  # int keys still sit at home; the misses now cross tombstones
    same_size = table_probe_stats(model_table(d, table.log2_size))
    assert stats.miss_mean > same_size.miss_mean


@needs_reader
def test_dict_subclass_and_str_tables_are_read() -> None:
    m = parse_spec("dict").create()
    m.update(zip(make_keys("short-str", 500), range(500), strict=True))
    stats = dict_probe_stats(m)  # type: ignore[arg-type]
    assert stats.size == 500
    assert stats.extra["unicode_table"] == (sys.version_info >= (3, 11))


class _MovesOnRead(OrderedDict):  # type: ignore[type-arg]
    """The README's LRUMap: every read moves the key to the end (its linked list, not its table)."""

    def __getitem__(self, key: Any) -> Any:
        self.move_to_end(key)
        return super().__getitem__(key)


class _Disguised(dict):  # type: ignore[type-arg]
    """A subclass whose own iteration and length say something else than its table."""

    def __iter__(self) -> Iterator[Any]:
        return iter(sorted(dict.__iter__(self), key=repr))

    def __len__(self) -> int:
        return 0


@needs_reader
@pytest.mark.parametrize("cls", [_MovesOnRead, _Disguised, OrderedDict])
def test_subclasses_are_read_through_dicts_own_methods(cls: type[dict[Any, int]]) -> None:
    keys = make_keys("short-str", 3_000)
    m = cls()
    plain: dict[Any, int] = {}
    for i, k in enumerate(keys):
        m[k] = plain[k] = i
    for k in keys[::7]:
        m[k]  # reorders _MovesOnRead's linked list; the table stays as built
    assert dict_probe_stats(m) == dict_probe_stats(plain)


@needs_reader
def test_reader_refuses_split_tables_and_non_dicts() -> None:
    class Obj:
        pass

    o = Obj()
    o.a = 1  # type: ignore[attr-defined]
    with pytest.raises(DictProbeError):
        read_table(o.__dict__)  # split (shared-key) table, or refused as materialised on 3.13
    with pytest.raises(DictProbeError, match="expected a dict"):
        read_table([1, 2])  # type: ignore[arg-type]


@needs_reader
def test_reader_refuses_a_corrupted_table() -> None:
    d = _built(list(range(50)))
    table = read_table(d)
    keys_at = ctypes.c_void_p.from_address(id(d) + 32).value
    assert keys_at is not None
    entries_at = keys_at + (40 if sys.version_info < (3, 11) else 32) + table.size * 1
    saved = ctypes.c_ssize_t.from_address(entries_at).value  # entry 0's stored hash
    ctypes.c_ssize_t.from_address(entries_at).value = saved + 1
    try:
        with pytest.raises(DictProbeError, match="stored hashes differ"):
            read_table(d)
    finally:
        ctypes.c_ssize_t.from_address(entries_at).value = saved
    assert read_table(d).log2_size == table.log2_size


def test_model_fallback_is_labelled_modelled() -> None:
    stats = modelled_dict_probe_stats(_built(make_keys("bytes", 300)))
    assert stats.source == "modelled"
    assert stats.size == 300 and sum(stats.hit_histogram) == 300
    assert stats.capacity == 1 << model_log2_size(300) == 512


def test_merge_sums_histograms_and_marks_any_model() -> None:
    a = modelled_dict_probe_stats(_built(list(range(5))))
    b = dict_probe_stats(_built(make_keys("short-str", 40)))
    merged = merge_probe_stats([a, b], shard_imbalance=1.5)
    assert merged.size == 45 and merged.capacity == a.capacity + b.capacity
    assert sum(merged.hit_histogram) == 45
    assert sum(merged.miss_histogram) == a.capacity + b.capacity
    assert merged.source == "modelled"
    assert merged.extra == {"tables": 2, "shard_imbalance": 1.5}
