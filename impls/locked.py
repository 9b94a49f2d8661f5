"""One dict behind a lock: one mutex for everything (`locked`), or a reader-writer lock (`rwlock`).

The two differ only in their guards: `locked` reads and writes under the same `threading.Lock`;
`rwlock` lets readers share the lock and gives a writer (a store, a delete, a whole `update` or
`clear`) the dict alone. A bulk `update()` holds the lock for all of its pairs, as a Go program
holding `mu.Lock()` around a loop does: every reader waits for the whole of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Literal

from mapbench.impls._rwlock import Preference, RWLock

from mapbench.protocol import KeyOrder, iter_update_items
from mapbench.registry import MapInfo

_MISSING = object()


class GuardedDict:
    """A dict whose reads hold `reading` and whose writes hold `writing`."""

    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)
    key_order: ClassVar[KeyOrder] = "insertion"
    thread_safe: Literal[True] = True

    def __init__(
        self, reading: AbstractContextManager[Any], writing: AbstractContextManager[Any]
    ) -> None:
        self._d: dict[Any, Any] = {}
        self._reading = reading
        self._writing = writing

    def __getitem__(self, key: Any) -> Any:
        with self._reading:
            return self._d[key]

    def get(self, key: Any, default: Any = None) -> Any:
        with self._reading:
            return self._d.get(key, default)

    def __contains__(self, key: object) -> bool:
        with self._reading:
            return key in self._d

    def __len__(self) -> int:
        with self._reading:
            return len(self._d)

    def __iter__(self) -> Iterator[Any]:
        # The keys are copied under the lock, so writers may run while the caller iterates.
        with self._reading:
            keys = list(self._d)
        return iter(keys)

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._writing:
            self._d[key] = value

    def __delitem__(self, key: Any) -> None:
        with self._writing:
            del self._d[key]

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        with self._writing:
            if default is _MISSING:
                return self._d.pop(key)
            return self._d.pop(key, default)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Every pair under one hold of the lock (readers wait for all of them)."""
        with self._writing:
            for key, value in iter_update_items(other, **kwargs):
                self._d[key] = value

    def clear(self) -> None:
        with self._writing:
            self._d.clear()

    def backing_dicts(self) -> list[dict[Any, Any]]:
        """The dict itself, whose table mapbench reads for probe lengths (`DictBacked`)."""
        return [self._d]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={len(self)})"

    def close(self) -> None:
        """Nothing to release."""


class LockedDict(GuardedDict):
    """One dict, one mutex: readers exclude each other as writers do."""

    def __init__(self) -> None:
        lock = threading.Lock()
        super().__init__(lock, lock)


class RWLockDict(GuardedDict):
    """One dict behind a reader-writer lock: readers share it, a writer excludes them."""

    def __init__(self, prefer: Preference = "writers") -> None:
        self.lock = RWLock(prefer)
        super().__init__(self.lock.shared, self.lock.exclusive)

    def counters(self) -> Mapping[str, int]:
        """Acquisitions that found the lock taken and waited, readers' and writers' (exact)."""
        return self.lock.waits()

    def __repr__(self) -> str:
        return f"RWLockDict(prefer={self.lock.prefer!r}, size={len(self)})"


MAPS = (
    MapInfo("locked", LockedDict, "one dict behind one mutex (thread-safe)"),
    MapInfo(
        "rwlock",
        RWLockDict,
        "one dict behind a reader-writer lock, writer- or reader-preferring (thread-safe)",
        defaults={"prefer": "writers"},
    ),
)
