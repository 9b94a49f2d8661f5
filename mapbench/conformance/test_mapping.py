"""Key and value types, errors and capabilities, for what each map declares (the mapping
contract itself: `test_contract`).

Parametrized over every available registered map, or the `--map` specs given to pytest: a map
added later is covered without editing this file. What a map declares (`semantics_of`): its
key and value types, whether keys of different types may share one map, its iteration order.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mapbench.conformance._declared import (
    FOREIGN_OBJECTS,
    SAMPLE_KEYS,
    SAMPLE_VALUES,
    key_groups,
    key_types,
    make_key,
    make_value,
    value_types,
)
from mapbench.conformance.keys import assumed_semantics
from mapbench.measure import Unmeasurable
from mapbench.measure.probes import probe_stats_of
from mapbench.protocol import (
    BatchOps,
    Map,
    Persistent,
    Presizable,
    Semantics,
    Snapshottable,
    semantics_of,
)
from mapbench.registry import MapSpec

MakeMap = Callable[[], Map]


def declared(make_map: MakeMap) -> Semantics:
    """What the map declares, and whether its keys of different types can share it."""
    return assumed_semantics(make_map)[0]


def contents(m: Map) -> dict[Any, Any]:
    return {k: m[k] for k in m}


def put(m: Map, key: Any, value: Any) -> None:
    """`m[key] = value` for a key of a declared type: a TypeError is a failure, with a hint."""
    try:
        m[key] = value
    except TypeError as exc:
        hint = ""
        if semantics_of(m).mixed_key_types and len(m):
            hint = (
                "; a map that takes keys of one type at a time declares `mixed_key_types = False`"
            )
        pytest.fail(f"storing the declared key {key!r} raised TypeError: {exc}{hint}")


def test_declarations_fit_the_workloads(make_map: MakeMap) -> None:
    sem = declared(make_map)
    assert key_types(sem), "a map must take int, str or bytes keys (the workloads' key kinds)"
    assert sem.takes_value(int), "a map must take int values (every workload stores ints)"


@pytest.mark.parametrize("overwrite", [False, True], ids=["store", "overwrite"])
def test_every_sample_key_and_value(make_map: MakeMap, overwrite: bool) -> None:
    sem = declared(make_map)
    for group in key_groups(sem):
        m = make_map()
        expected: dict[Any, Any] = {}
        values = itertools.cycle([v for t in value_types(sem) for v in SAMPLE_VALUES[t]])
        for key in (k for t in group for k in SAMPLE_KEYS[t]):
            expected[key] = next(values)
            put(m, key, expected[key])
        if overwrite:  # each key again with another value: every overwrite must land
            for i, key in enumerate(expected):
                m[key] = expected[key] = make_value(sem, 10_000 + i)
        assert len(m) == len(expected)
        for key, value in expected.items():
            assert key in m, f"{key!r} is missing"
            assert m[key] == value, f"{key!r}: {m[key]!r} != {value!r}"
            assert type(m[key]) is type(value)
            assert m.get(key) == value
        assert sorted(map(repr, m)) == sorted(map(repr, expected))
        assert {type(k) for k in m} == set(group)


def test_one_key_type_at_a_time_fails_cleanly(make_map: MakeMap) -> None:
    sem = declared(make_map)
    if sem.mixed_key_types:
        pytest.skip("the map declares mixed key types")
    types = key_types(sem)
    for first, other in itertools.permutations(types, 2):
        m = make_map()
        m[make_key(first, 1)] = make_value(sem, 1)
        stranger = make_key(other, 2)
        try:
            m[stranger] = make_value(sem, 2)
        except TypeError:
            assert contents(m) == {make_key(first, 1): make_value(sem, 1)}, (
                "a rejected key must leave the map unchanged"
            )
        else:  # a sorted map may compare these types after all: then it must work
            assert contents(m) == {
                make_key(first, 1): make_value(sem, 1),
                stranger: make_value(sem, 2),
            }


def test_rejects_undeclared_types(make_map: MakeMap) -> None:
    m = make_map()
    sem = semantics_of(m)
    key = make_key(key_types(sem)[0], 1)
    for bad in (k for k in FOREIGN_OBJECTS if not sem.takes_key(type(k))):
        with pytest.raises(TypeError):
            m[bad] = make_value(sem, 1)
    for bad in (v for v in [*FOREIGN_OBJECTS, "str"] if not sem.takes_value(type(v))):
        with pytest.raises(TypeError):
            m[key] = bad
    assert len(m) == 0, "a rejected write must not change the map"


def test_huge_ints_are_stored_or_rejected(make_map: MakeMap) -> None:
    sem = declared(make_map)
    if not sem.takes_key(int):
        pytest.skip("the map takes no int keys")
    for huge in (2**64 + 1, -(2**64) - 5, 2**100):
        m = make_map()
        try:
            m[huge] = make_value(sem, 1)
        except (OverflowError, TypeError, ValueError):
            assert len(m) == 0, "a rejected key must leave the map unchanged"
            continue
        m[(huge + 2**63) % 2**64 - 2**63] = make_value(sem, 2)  # its 64-bit wrap-around
        assert len(m) == 2, f"{huge} and its 64-bit wrap-around are one key"
        assert m[huge] == make_value(sem, 1)


def test_probe_stats_are_consistent(make_map: MakeMap) -> None:
    sem = declared(make_map)
    m = make_map()
    t = key_types(sem)[0]
    for i in range(1000):
        m[make_key(t, i)] = make_value(sem, i)
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
    t = key_types(semantics_of(m))[0]
    m.reserve(10_000)
    for i in range(10_000):
        m[make_key(t, i)] = i
    assert len(m) == 10_000 and m[make_key(t, 9_999)] == 9_999


def test_snapshot_is_unaffected_by_later_writes(make_map: MakeMap) -> None:
    m = make_map()
    if not isinstance(m, Snapshottable):
        pytest.skip("map has no snapshots")
    sem = semantics_of(m)
    k = [make_key(key_types(sem)[0], i) for i in range(3)]
    m.update({k[0]: 1, k[1]: 2})
    snap = m.snapshot()
    m[k[2]] = 3
    del m[k[0]]
    m[k[1]] = 20
    assert dict(snap) == {k[0]: 1, k[1]: 2}
    assert contents(m) == {k[1]: 20, k[2]: 3}
    with pytest.raises(TypeError):
        snap[k[2]] = 4  # type: ignore[index]


def test_persistent_flush_keeps_contents(make_map: MakeMap) -> None:
    m = make_map()
    if not isinstance(m, Persistent):
        pytest.skip("map is not persistent")
    sem = semantics_of(m)
    expected = {make_key(t, i): make_value(sem, i) for i, t in enumerate(key_groups(sem)[0])}
    m.update(expected)
    m.flush()
    assert os.path.exists(m.path), f"{m.path} does not exist after flush()"
    assert contents(m) == expected


def test_temporary_files_are_removed_on_close(map_spec: MapSpec, map_tempdir: Path) -> None:
    before = set(os.listdir(map_tempdir))
    m = map_spec.create()
    try:
        if not isinstance(m, Persistent):
            pytest.skip("map is not persistent")
        m[make_key(key_types(semantics_of(m))[0], 1)] = 1
        m.flush()
        chose_a_temporary_place = Path(m.path).resolve().is_relative_to(map_tempdir.resolve())
    finally:
        m.close()
    if not chose_a_temporary_place:
        pytest.skip(f"the map was given its place ({m.path}), so it keeps it")
    left = set(os.listdir(map_tempdir)) - before
    assert not left, f"close() left {sorted(left)} in {tempfile.gettempdir()}"
