"""Thread-safe maps under stress lose no update: deletes and re-inserts, racing deletes, overwrites.

Each test runs 8 threads with a thread switch every microsecond while other threads iterate
and count the map, which drives a promoting map (syncmap) through promotions, rebuilds and
expunged entries at random points of every write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mapbench.conformance._declared import key_groups, make_key, make_value
from mapbench.conformance.test_threads import (  # noqa: F401 - the fixture applies here too
    THREADS,
    frequent_thread_switches,
    run_threads,
    thread_safe_map,
)
from mapbench.protocol import Map, semantics_of

ROUNDS = 6
KEYS = 60


def with_walkers(m: Map, targets: list[Callable[[], None]]) -> None:
    """Run `targets` while two more threads iterate, count and look up the map."""
    stop = threading.Event()

    def walk() -> None:
        while not stop.is_set():
            for k in m:
                m.get(k)
            len(m)

    walkers = [threading.Thread(target=walk) for _ in range(2)]
    for w in walkers:
        w.start()
    try:
        run_threads(targets)
    finally:
        stop.set()
        for w in walkers:
            w.join()


def test_each_writer_reads_its_own_writes_through_deletes_and_reinserts(
    make_map: Callable[[], Map],
) -> None:
    m = thread_safe_map(make_map)
    sem = semantics_of(m)
    group = key_groups(sem)[0]

    def key(t: int, i: int) -> object:
        return make_key(group[i % len(group)], t * 100_000 + i)

    def writer(t: int) -> Callable[[], None]:
        def write() -> None:
            for r in range(ROUNDS):
                for i in range(KEYS):
                    k, v = key(t, i), make_value(sem, r * KEYS + i)
                    m[k] = v
                    assert m[k] == v, f"a store of {k!r} was lost"
                    if (i + r) % 3 == 0:
                        del m[k]
                        assert k not in m, f"a delete of {k!r} was lost"

        return write

    with_walkers(m, [writer(t) for t in range(THREADS)])
    last = ROUNDS - 1
    expected = {
        key(t, i): make_value(sem, last * KEYS + i)
        for t in range(THREADS)
        for i in range(KEYS)
        if (i + last) % 3
    }
    assert len(m) == len(expected)
    assert {k: m[k] for k in m} == expected


def test_racing_deletes_remove_each_key_exactly_once(make_map: Callable[[], Map]) -> None:
    m = thread_safe_map(make_map)
    sem = semantics_of(m)
    t0 = key_groups(sem)[0][0]
    n = THREADS * KEYS
    m.update({make_key(t0, i): make_value(sem, i) for i in range(n)})
    removed: list[list[int]] = [[] for _ in range(THREADS)]

    def deleter(t: int) -> Callable[[], None]:
        def delete() -> None:
            for j in range(n):
                i = (j + t * KEYS) % n
                try:
                    del m[make_key(t0, i)]
                except KeyError:
                    continue  # another thread removed it first
                removed[t].append(i)

        return delete

    with_walkers(m, [deleter(t) for t in range(THREADS)])
    assert sorted(i for got in removed for i in got) == list(range(n))
    assert len(m) == 0 and list(m) == []


def test_racing_overwrites_leave_one_written_value_per_key(make_map: Callable[[], Map]) -> None:
    m = thread_safe_map(make_map)
    sem = semantics_of(m)
    t0 = key_groups(sem)[0][0]

    def overwriter(t: int) -> Callable[[], None]:
        def write() -> None:
            for _ in range(ROUNDS):
                for i in range(KEYS):
                    m[make_key(t0, i)] = make_value(sem, t)

        return write

    with_walkers(m, [overwriter(t) for t in range(THREADS)])
    written = {make_value(sem, t) for t in range(THREADS)}
    assert len(m) == KEYS
    assert all(m[make_key(t0, i)] in written for i in range(KEYS))
