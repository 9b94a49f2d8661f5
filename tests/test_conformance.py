"""The conformance suite every map passes: mapping semantics, types, errors and capabilities.

It is parametrized over every available registered map (or the `--map` specs given to pytest),
so a map added later is covered without editing this file.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable
from typing import Any

import pytest

from mapbench.measure import Unmeasurable
from mapbench.measure.probes import probe_stats_of
from mapbench.protocol import (
    INT64_MAX,
    INT64_MIN,
    BatchOps,
    Map,
    Persistent,
    Presizable,
    Snapshottable,
)

MakeMap = Callable[[], Map]

SAMPLE_KEYS: dict[type, list[Any]] = {
    int: [0, 1, -1, 42, INT64_MAX, INT64_MIN, 2**32, -(2**40) + 7],
    str: ["", "a", "key", "ключ", "🙂 emoji", "x" * 300],
    bytes: [b"", b"a", b"\x00", b"\x00\xff\x10", b"y" * 300],
}
SAMPLE_VALUES: dict[type, list[Any]] = {
    int: [0, -1, INT64_MAX, INT64_MIN, 12345],
    bytes: [b"", b"v", b"\x00\x01", b"z" * 1000],
}
# Candidates a typed map must reject with TypeError.
FOREIGN_OBJECTS: list[Any] = [1.5, None, (1, 2), frozenset({1}), True, 3j]


def supports(declared: tuple[type, ...], t: type) -> bool:
    return any(issubclass(t, d) for d in declared)


def key_types(m: Map) -> list[type]:
    return [t for t in (int, str, bytes) if supports(m.key_types, t)]


def value_types(m: Map) -> list[type]:
    return [t for t in (int, bytes) if supports(m.value_types, t)]


def test_declares_required_types(make_map: MakeMap) -> None:
    m = make_map()
    assert key_types(m) == [int, str, bytes], "every map must take int, str and bytes keys"
    assert value_types(m) == [int, bytes], "every map must take int and bytes values"


def test_empty(make_map: MakeMap) -> None:
    m = make_map()
    assert len(m) == 0
    assert list(m) == []
    assert 1 not in m
    assert m.get(1) is None
    assert m.get(1, b"d") == b"d"
    with pytest.raises(KeyError):
        m[1]
    with pytest.raises(KeyError):
        del m[1]


def test_every_key_and_value_type(make_map: MakeMap) -> None:
    m = make_map()
    expected: dict[Any, Any] = {}
    values = itertools.cycle([v for t in value_types(m) for v in SAMPLE_VALUES[t]])
    for t in key_types(m):
        for key in SAMPLE_KEYS[t]:
            value = next(values)
            m[key] = value
            expected[key] = value
    assert len(m) == len(expected)
    for key, value in expected.items():
        assert key in m
        assert m[key] == value
        assert type(m[key]) is type(value)
        assert m.get(key) == value
    assert sorted(map(repr, m)) == sorted(map(repr, expected))
    assert {type(k) for k in m} == set(key_types(m))


def test_keys_of_different_types_are_distinct(make_map: MakeMap) -> None:
    m = make_map()
    m[1] = 1
    m["1"] = 2
    m[b"1"] = 3
    assert (m[1], m["1"], m[b"1"]) == (1, 2, 3)
    assert len(m) == 3
    del m["1"]
    assert "1" not in m and 1 in m and b"1" in m


def test_overwrite_keeps_size(make_map: MakeMap) -> None:
    m = make_map()
    m["k"] = 1
    m["k"] = b"replaced"
    assert len(m) == 1
    assert m["k"] == b"replaced"


def test_growth_delete_and_reinsert(make_map: MakeMap) -> None:
    m = make_map()
    n = 5000
    for i in range(n):
        m[i * 7919] = i
    assert len(m) == n
    assert all(m[i * 7919] == i for i in range(n))
    for i in range(0, n, 2):
        del m[i * 7919]
    assert len(m) == n // 2
    assert all((i * 7919 in m) == (i % 2 == 1) for i in range(n))
    for i in range(0, n, 2):
        m[i * 7919] = -i
    assert len(m) == n
    assert sorted(m) == sorted(i * 7919 for i in range(n))
    assert all(m[i * 7919] == (-i if i % 2 == 0 else i) for i in range(n))


def test_churn_at_steady_size(make_map: MakeMap) -> None:
    m = make_map()
    live = 200
    for i in range(20 * live):
        m[f"k{i}"] = i
        if i >= live:
            del m[f"k{i - live}"]
    assert len(m) == live
    assert sorted(m) == sorted(f"k{i}" for i in range(19 * live, 20 * live))


def test_clear_then_reuse(make_map: MakeMap) -> None:
    m = make_map()
    for i in range(100):
        m[i] = i
    m.clear()
    assert len(m) == 0
    assert list(m) == []
    assert 5 not in m
    m[5] = 6
    assert m[5] == 6
    assert len(m) == 1


def test_update_like_dict(make_map: MakeMap) -> None:
    m = make_map()
    m.update({1: 1, "a": b"a"})
    m.update([(2, 2), (b"b", 3)])
    m.update(kw=4)
    m.update({1: 10}, other=5)
    assert {k: m[k] for k in m} == {1: 10, "a": b"a", 2: 2, b"b": 3, "kw": 4, "other": 5}


def test_iteration_yields_each_key_once(make_map: MakeMap) -> None:
    m = make_map()
    keys = [*range(300), *(f"s{i}" for i in range(300)), *(b"b%d" % i for i in range(300))]
    for k in keys:
        m[k] = 1
    seen = list(m)
    assert len(seen) == len(keys)
    assert set(seen) == set(keys)


def test_rejects_unsupported_types_clearly(make_map: MakeMap) -> None:
    m = make_map()
    foreign_keys = [k for k in FOREIGN_OBJECTS if not supports(m.key_types, type(k))]
    foreign_values = [
        v for v in [*FOREIGN_OBJECTS, "str value"] if not supports(m.value_types, type(v))
    ]
    for bad in foreign_keys:
        with pytest.raises(TypeError, match="supported"):
            m[bad] = 1
    for bad in foreign_values:
        with pytest.raises(TypeError, match="supported"):
            m[1] = bad
    assert len(m) == 0, "a rejected write must not change the map"
    if object not in m.key_types:
        with pytest.raises((OverflowError, TypeError)):
            m[INT64_MAX + 1] = 1
        with pytest.raises((OverflowError, TypeError)):
            m[INT64_MIN - 1] = 1


def test_probe_stats_are_consistent(make_map: MakeMap) -> None:
    m = make_map()
    for i in range(1000):
        m[i * 2654435761 % 2**61] = i
    try:
        stats = probe_stats_of(m)  # its own, its table's (a dict), or its dicts' (DictBacked)
    except Unmeasurable as exc:
        pytest.skip(f"no probe statistics: {exc}")
    assert stats.size == len(m) == 1000
    assert stats.capacity >= stats.size
    assert sum(stats.hit_histogram) == stats.size
    assert stats.hit_histogram[0] == 0, "finding a stored key takes at least one probe"
    assert 1.0 <= stats.hit_mean <= stats.hit_max
    assert sum(stats.miss_histogram) > 0
    assert stats.miss_mean >= 1.0


def test_batch_ops_agree_with_mapping_api(make_map: MakeMap) -> None:
    m = make_map()
    if not isinstance(m, BatchOps):
        pytest.skip("map has no batch operations")
    keys = array("q", range(-500, 500, 3))
    m.insert_many(keys, array("q", (k * 2 for k in keys)))
    assert len(m) == len(keys)
    assert all(m[k] == 2 * k for k in keys)
    assert m.lookup_many(keys) == len(keys)
    assert m.lookup_many(array("q", [10**12, 10**12 + 1])) == 0
    assert m.delete_many(keys[::2]) == len(keys[::2])
    assert len(m) == len(keys) - len(keys[::2])


def test_reserve_then_fill(make_map: MakeMap) -> None:
    m = make_map()
    if not isinstance(m, Presizable):
        pytest.skip("map cannot be pre-sized")
    m.reserve(10_000)
    for i in range(10_000):
        m[i] = i
    assert len(m) == 10_000 and m[9_999] == 9_999


def test_snapshot_is_unaffected_by_later_writes(make_map: MakeMap) -> None:
    m = make_map()
    if not isinstance(m, Snapshottable):
        pytest.skip("map has no snapshots")
    m.update({1: 1, 2: 2})
    snap = m.snapshot()
    m[3] = 3
    del m[1]
    m[2] = 20
    assert dict(snap) == {1: 1, 2: 2}
    assert {k: m[k] for k in m} == {2: 20, 3: 3}
    with pytest.raises(TypeError):
        snap[4] = 4  # type: ignore[index]


def test_persistent_flush_keeps_contents(make_map: MakeMap) -> None:
    m = make_map()
    if not isinstance(m, Persistent):
        pytest.skip("map is not persistent")
    m.update({1: b"one", "two": 2})
    m.flush()
    assert m.path
    assert m[1] == b"one" and m["two"] == 2
