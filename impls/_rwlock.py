"""A reader-writer lock: readers share it, a writer excludes all; which side waits is an option.

- `prefer="writers"`: a reader arriving while a writer waits queues behind it, so a stream of
  readers cannot starve writers (Go's `sync.RWMutex` behaves so).
- `prefer="readers"`: a reader enters whenever no writer holds the lock, so writers wait for a
  moment with no reader at all (they can starve under a steady stream of readers).

Its state is guarded by one mutex, held only to change the counts: a reader holds no mutex while
it reads. Waits are counted exactly (`waits()`): how often each side found the lock taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

Preference = Literal["writers", "readers"]
PREFERENCES: tuple[Preference, ...] = ("writers", "readers")


class RWLock:
    """Shared acquisition for readers, exclusive for a writer."""

    def __init__(self, prefer: Preference = "writers") -> None:
        if prefer not in PREFERENCES:
            raise ValueError(f"prefer must be one of {', '.join(PREFERENCES)}, not {prefer!r}")
        self.prefer = prefer
        self._mu = threading.Lock()
        self._changed = threading.Condition(self._mu)
        self._readers = 0  # holding the lock
        self._writing = False
        self._writers_waiting = 0
        self._reader_waits = 0
        self._writer_waits = 0
        self.shared = Guard(self.acquire_read, self.release_read)
        self.exclusive = Guard(self.acquire_write, self.release_write)

    def _reader_must_wait(self) -> bool:
        if self._writing:
            return True
        return self.prefer == "writers" and self._writers_waiting > 0

    def acquire_read(self) -> None:
        with self._mu:
            if self._reader_must_wait():
                self._reader_waits += 1
                while self._reader_must_wait():
                    self._changed.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._mu:
            self._readers -= 1
            if self._readers == 0 and self._writers_waiting:
                self._changed.notify_all()

    def acquire_write(self) -> None:
        with self._mu:
            if self._writing or self._readers:
                self._writer_waits += 1
                self._writers_waiting += 1
                while self._writing or self._readers:
                    self._changed.wait()
                self._writers_waiting -= 1
            self._writing = True

    def release_write(self) -> None:
        with self._mu:
            self._writing = False
            self._changed.notify_all()

    def waits(self) -> dict[str, int]:
        """How many acquisitions found the lock taken and waited, per side (exact)."""
        with self._mu:
            return {"reader_waits": self._reader_waits, "writer_waits": self._writer_waits}


class Guard:
    """`with guard:` calls `acquire` on entry and `release` on exit."""

    __slots__ = ("_acquire", "_release")

    def __init__(self, acquire: Callable[[], None], release: Callable[[], None]) -> None:
        self._acquire = acquire
        self._release = release

    def __enter__(self) -> None:
        self._acquire()

    def __exit__(self, *exc: object) -> None:
        self._release()


__all__ = ["PREFERENCES", "Guard", "Preference", "RWLock"]
