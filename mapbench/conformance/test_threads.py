"""Thread-safe maps lose no update when many threads write, read and iterate at once."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from mapbench.conformance._declared import key_groups, make_key, make_value
from mapbench.protocol import Map, ThreadSafe, semantics_of

THREADS = 8
KEYS_PER_THREAD = 300


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    # Switching threads every microsecond makes races that a default 5 ms interval would hide.
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(saved)


def run_threads(targets: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread deadlocked"
    assert not errors, errors


def thread_safe_map(make_map: Callable[[], Map]) -> Map:
    m = make_map()
    if not isinstance(m, ThreadSafe):
        pytest.skip("map is not thread-safe")
    return m


def test_concurrent_writers_lose_no_update(make_map: Callable[[], Map]) -> None:
    m = thread_safe_map(make_map)
    sem = semantics_of(m)
    group = key_groups(sem)[0]
    stop = threading.Event()

    def key(t: int, i: int, kind: int) -> object:
        return make_key(group[kind % len(group)], (2 * t + kind) * 100_000 + i)

    def writer(t: int) -> Callable[[], None]:
        def write() -> None:
            for i in range(KEYS_PER_THREAD):
                m[key(t, i, 0)] = make_value(sem, i)
                m[key(t, i, 1)] = make_value(sem, i)
                if i % 3 == 0:
                    del m[key(t, i, 1)]

        return write

    def reader() -> None:
        while not stop.is_set():
            for k in list(m):
                m.get(k)  # may race with a delete, but must never raise or corrupt

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for r in readers:
        r.start()
    try:
        run_threads([writer(t) for t in range(THREADS)])
    finally:
        stop.set()
        for r in readers:
            r.join()
    expected = {
        key(t, i, kind): make_value(sem, i)
        for t in range(THREADS)
        for i in range(KEYS_PER_THREAD)
        for kind in (0, 1)
        if kind == 0 or i % 3
    }
    assert len(m) == len(expected)
    assert {k: m[k] for k in m} == expected


def test_concurrent_batch_updates_are_atomic_per_key(make_map: Callable[[], Map]) -> None:
    m = thread_safe_map(make_map)
    sem = semantics_of(m)
    t0 = key_groups(sem)[0][0]

    def k(t: int, i: int, j: int) -> object:
        return make_key(t0, (t * 50 + i) * 5 + j)

    def updater(t: int) -> Callable[[], None]:
        def update() -> None:
            for i in range(50):
                m.update({k(t, i, j): make_value(sem, t) for j in range(5)})

        return update

    run_threads([updater(t) for t in range(THREADS)])
    assert len(m) == THREADS * 50 * 5
    assert all(
        m[k(t, i, j)] == make_value(sem, t)
        for t in range(THREADS)
        for i in range(50)
        for j in range(5)
    )
