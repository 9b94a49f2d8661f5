"""The mechanisms of the concurrent maps, asserted step by step (not their speed).

syncmap: a key stored since the last promotion is found in the dirty map under the mutex, and
each such lookup counts a miss; the dirty map is promoted when the misses reach its size. A
deleted key is only marked; the next store of a new key rebuilds the dirty map without it
(expunged), and the promotion after that drops it from the read map.
rwlock: writer-preferring readers queue behind a waiting writer; reader-preferring ones do not.
"""

from __future__ import annotations

import threading
import time

import pytest
from mapbench.impls._rwlock import RWLock
from mapbench.impls.syncmap import SyncMap

from mapbench.protocol import EventCounters, capabilities_of


def read_keys(m: SyncMap) -> set[object]:
    """The keys of the read map (live or not): what lock-free lookups can see."""
    return set(m._read.m)


def test_a_new_key_is_promoted_after_as_many_misses_as_the_dirty_map_has_entries() -> None:
    m = SyncMap()
    for k in range(10):
        m[k] = k
    assert read_keys(m) == set() and m.counters()["promotions"] == 0
    for i in range(9):  # 9 misses: fewer than the dirty map's 10 entries
        assert m[i] == i
    assert m.pending_misses() == 9 and m.counters()["promotions"] == 0
    assert m[9] == 9  # the 10th miss promotes
    assert m.counters() == {"misses": 10, "promotions": 1, "expunged": 0, "dirty_builds": 1}
    assert read_keys(m) == set(range(10)) and m.pending_misses() == 0
    for k in range(10):  # now served by the read map: no more misses
        assert m[k] == k
    assert m.counters()["misses"] == 10


def test_absent_keys_count_misses_only_while_the_read_map_is_incomplete() -> None:
    m = SyncMap()
    m.update({1: 1, 2: 2})
    assert m.get(3) is None and m.counters()["misses"] == 1  # amended: the mutex is taken
    assert 3 not in m  # the second miss reaches the dirty map's size: promoted
    assert m.counters()["promotions"] == 1
    assert m.get(3) is None and m.counters()["misses"] == 2  # complete now: lock-free


def test_deleted_keys_are_marked_then_expunged_by_the_rebuild_and_dropped_by_promotion() -> None:
    m = SyncMap()
    for k in range(6):
        m[k] = k
    list(m)  # iteration promotes (Go's Range)
    assert read_keys(m) == set(range(6))
    del m[2], m[4]
    assert read_keys(m) == set(range(6)), "a delete only marks the entry"
    assert sorted(m) == [0, 1, 3, 5] and len(m) == 4
    m[100] = 100  # the first new key: the dirty map is rebuilt from the read map
    assert m.counters()["expunged"] == 2 and m.counters()["dirty_builds"] == 2
    assert set(m._dirty or ()) == {0, 1, 3, 5, 100}
    for _ in range(5):  # the dirty map holds 5 entries: 5 misses promote it
        m[100]
    assert m.counters()["promotions"] == 2
    assert read_keys(m) == {0, 1, 3, 5, 100}, "expunged keys are gone from the read map"


def test_storing_an_expunged_key_puts_its_entry_back_into_the_dirty_map() -> None:
    m = SyncMap()
    m.update({1: 1, 2: 2})
    list(m)
    del m[1]
    m[3] = 3  # rebuild: key 1 is expunged
    assert 1 not in (m._dirty or {})
    m[1] = 10  # not a lock-free store: the entry is unexpunged under the mutex
    assert m._dirty is not None and 1 in m._dirty and m[1] == 10
    assert sorted(m) == [1, 2, 3]


def test_stores_to_keys_of_the_read_map_do_not_take_the_mutex() -> None:
    m = SyncMap()
    m.update({k: k for k in range(4)})
    list(m)
    with m._mu:  # held here: a store that needed it would deadlock
        for k in range(4):
            m[k] = -k
            del m[k]
            m[k] = k
            assert m[k] == k
    assert m.counters()["misses"] == 0


def test_clear_empties_both_maps() -> None:
    m = SyncMap()
    m.update({k: k for k in range(5)})
    list(m)
    m[9] = 9
    m.clear()
    assert len(m) == 0 and list(m) == [] and 9 not in m
    m[1] = 1
    assert dict.fromkeys(m) == {1: None}


def test_the_counters_are_a_capability() -> None:
    assert isinstance(SyncMap(), EventCounters)
    assert "counters" in capabilities_of(SyncMap())


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


@pytest.mark.parametrize(("prefer", "reader_queues"), [("writers", True), ("readers", False)])
def test_a_reader_arriving_while_a_writer_waits(prefer: str, reader_queues: bool) -> None:
    lock = RWLock(prefer)  # type: ignore[arg-type]
    order: list[str] = []
    lock.acquire_read()  # a reader holds the lock

    def writer() -> None:
        lock.acquire_write()
        order.append("writer")
        lock.release_write()

    def reader() -> None:
        lock.acquire_read()
        order.append("reader")
        lock.release_read()

    w = threading.Thread(target=writer)
    w.start()
    wait_until(lambda: lock.waits()["writer_waits"] == 1)
    r = threading.Thread(target=reader)
    r.start()
    if reader_queues:
        wait_until(lambda: lock.waits()["reader_waits"] == 1)
        assert order == []
    else:
        r.join(10)
        assert order == ["reader"] and lock.waits()["reader_waits"] == 0
    lock.release_read()
    w.join(10)
    r.join(10)
    assert order == (["writer", "reader"] if reader_queues else ["reader", "writer"])


def test_rwlock_rejects_an_unknown_preference() -> None:
    with pytest.raises(ValueError, match="prefer must be one of writers, readers"):
        RWLock("fifo")  # type: ignore[arg-type]
