"""Go's `sync.Map` design in Python: lock-free reads of a read-only map, a dirty map behind a mutex.

The mechanism, as Go's `sync/map.go` (up to Go 1.23) has it:

- The **read map** is a dict that is never mutated once published; it is swapped in whole by one
  attribute assignment (Go's atomic pointer store), so readers look keys up without any lock.
  Alongside it, `amended` says whether the dirty map holds keys the read map lacks.
- Values live in **entries** (Go's `*entry`): the maps hold entries, not values, so a key present
  in the read map is updated or deleted by changing its entry, without the mutex. An entry holds
  the value, or `_NIL` (deleted), or `_EXPUNGED` (deleted and left out of the dirty map).
- The **dirty map** holds every live key (when `amended`) and is only touched under the mutex. The
  first store of a new key after a promotion rebuilds it from the read map, marking each deleted
  (`_NIL`) entry `_EXPUNGED` and leaving it out: deletes only mark entries; the dropping is lazy.
- A load that misses the read map while `amended` takes the mutex, looks in the dirty map and
  counts a **miss**; once misses >= len(dirty), the dirty map is **promoted**: it becomes the read
  map (`amended` false), the dirty map is dropped and the misses reset. Expunged keys, absent from
  the dirty map, are thereby gone from the read map too. Iteration (Go's `Range`) promotes first.

Go changes an entry with compare-and-swap instructions; Python has none, so each such atomic step
holds one of 64 striped locks (chosen by the entry's address) for a few bytecodes. The map's mutex
is never taken on those paths, and reads take no lock at all. `len()` counts live entries (O(n):
Go's map keeps no count), under the mutex only while a dirty map exists.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Literal, NamedTuple

from mapbench.protocol import iter_update_items
from mapbench.registry import MapInfo


class _Marker:
    """A state of an entry that is not a value (never a user's object)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NIL = _Marker("nil")  # deleted; the dirty map (if any) still holds the entry
_EXPUNGED = _Marker("expunged")  # deleted, and the dirty map does not hold it
_ABSENT = _Marker("absent")  # a lookup found no live entry
_MISSING = _Marker("missing")  # pop() without a default

# Emulated compare-and-swap: one short critical section per entry transition.
_ATOMICS = tuple(threading.Lock() for _ in range(64))


def _atomic(entry: _Entry) -> threading.Lock:
    return _ATOMICS[(id(entry) >> 4) & 63]


class _Entry:
    """One key's slot, shared by the read and the dirty map: the value, `_NIL` or `_EXPUNGED`."""

    __slots__ = ("p",)

    def __init__(self, value: Any) -> None:
        self.p = value


def _try_swap(e: _Entry, value: Any) -> Any:
    """Store `value` unless the entry is expunged (then `_EXPUNGED`, unchanged); the old state."""
    with _atomic(e):
        old = e.p
        if old is not _EXPUNGED:
            e.p = value
        return old


def _swap(e: _Entry, value: Any) -> Any:
    """Store `value` unconditionally (the entry is known not to be expunged); the old state."""
    with _atomic(e):
        old = e.p
        e.p = value
        return old


def _delete(e: _Entry) -> Any:
    """Mark a live entry deleted; its value, or `_ABSENT` if it held none."""
    with _atomic(e):
        old = e.p
        if old is _NIL or old is _EXPUNGED:
            return _ABSENT
        e.p = _NIL
        return old


def _cas(e: _Entry, old: _Marker, new: _Marker) -> bool:
    """Compare-and-swap of an entry's state: `old` -> `new`; whether it happened."""
    with _atomic(e):
        if e.p is old:
            e.p = new
            return True
        return False


def _unexpunge(e: _Entry) -> bool:
    """`_EXPUNGED` -> `_NIL`; whether it was expunged (it must then be put in the dirty map)."""
    return _cas(e, _EXPUNGED, _NIL)


def _try_expunge(e: _Entry) -> bool:
    """`_NIL` -> `_EXPUNGED`; whether the entry is now expunged (left out of a new dirty map).

    As Go's: a plain load first, the compare-and-swap only for a deleted entry (a rebuild reads
    every entry; most hold values). Called under the map's mutex, the only place entries become
    expunged.
    """
    p = e.p
    while p is _NIL:
        if _cas(e, _NIL, _EXPUNGED):
            return True
        p = e.p
    return p is _EXPUNGED


def _live(p: Any) -> bool:
    return p is not _NIL and p is not _EXPUNGED


class _ReadOnly(NamedTuple):
    """The read map and whether the dirty map holds keys it lacks; published as one reference."""

    m: dict[Any, _Entry]
    amended: bool


_EMPTY = _ReadOnly({}, False)


class SyncMap:
    """Go's sync.Map: lock-free reads of a read-only map, new keys in a dirty map behind a mutex,
    promoted to the read map after as many locked misses as it has entries."""

    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)
    thread_safe: Literal[True] = True

    def __init__(self) -> None:
        self._read = _EMPTY
        self._mu = threading.Lock()
        self._dirty: dict[Any, _Entry] | None = None
        self._misses = 0  # since the last promotion (Go's `misses`)
        # Exact totals of the mechanism's events, all counted under the mutex (`counters()`).
        self._miss_total = 0
        self._promotions = 0
        self._expunged = 0
        self._dirty_builds = 0

    # --- lookups: the read map without a lock, the dirty map under the mutex on a miss ---------

    def _load(self, key: Any) -> Any:
        read = self._read
        e = read.m.get(key)
        if e is None and read.amended:
            e = self._load_locked(key)
        if e is None:
            return _ABSENT
        p = e.p
        return p if _live(p) else _ABSENT

    def _load_locked(self, key: Any) -> _Entry | None:
        with self._mu:
            read = self._read  # a promotion may have happened while we waited
            e = read.m.get(key)
            if e is None and read.amended:
                assert self._dirty is not None, "amended means a dirty map exists"
                e = self._dirty.get(key)
                self._miss_locked()  # found or not, this key takes the slow path until promoted
            return e

    def __getitem__(self, key: Any) -> Any:
        read = self._read
        e = read.m.get(key)
        if e is None and read.amended:
            e = self._load_locked(key)
        if e is not None:
            p = e.p
            if p is not _NIL and p is not _EXPUNGED:
                return p
        raise KeyError(key)

    def get(self, key: Any, default: Any = None) -> Any:
        p = self._load(key)
        return default if p is _ABSENT else p

    def __contains__(self, key: object) -> bool:
        return self._load(key) is not _ABSENT

    # --- stores: an entry of the read map changes without the mutex; new keys go to dirty -------

    def __setitem__(self, key: Any, value: Any) -> None:
        e = self._read.m.get(key)
        if e is not None and _try_swap(e, value) is not _EXPUNGED:
            return
        with self._mu:
            read = self._read
            e = read.m.get(key)
            if e is not None:
                if _unexpunge(e):
                    assert self._dirty is not None, "expunged entries exist only beside a dirty map"
                    self._dirty[key] = e
                _swap(e, value)
                return
            e = None if self._dirty is None else self._dirty.get(key)
            if e is not None:
                _swap(e, value)
                return
            if not read.amended:  # the first new key since the last promotion
                self._dirty_locked()
                self._read = _ReadOnly(read.m, True)
            assert self._dirty is not None
            self._dirty[key] = _Entry(value)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """One store per pair (sync.Map has no bulk operation)."""
        for key, value in iter_update_items(other, **kwargs):
            self[key] = value

    # --- deletes: mark the entry; it is dropped when the dirty map is rebuilt and promoted ------

    def _load_and_delete(self, key: Any) -> Any:
        read = self._read
        e = read.m.get(key)
        if e is None and read.amended:
            with self._mu:
                read = self._read
                e = read.m.get(key)
                if e is None and read.amended:
                    assert self._dirty is not None
                    e = self._dirty.pop(key, None)
                    self._miss_locked()
        return _ABSENT if e is None else _delete(e)

    def __delitem__(self, key: Any) -> None:
        if self._load_and_delete(key) is _ABSENT:
            raise KeyError(key)

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        value = self._load_and_delete(key)
        if value is not _ABSENT:
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def clear(self) -> None:
        """Go 1.23's `Clear`: an empty read map, an emptied dirty map, misses reset."""
        read = self._read
        if not read.m and not read.amended:
            return
        with self._mu:
            self._read = _EMPTY
            if self._dirty is not None:
                self._dirty = {}
            self._misses = 0

    # --- the mechanism: misses, promotion, the dirty map's lazy rebuild ------------------------

    def _miss_locked(self) -> None:
        self._misses += 1
        self._miss_total += 1
        assert self._dirty is not None
        if self._misses >= len(self._dirty):
            self._promote_locked()

    def _promote_locked(self) -> None:
        assert self._dirty is not None
        self._read = _ReadOnly(self._dirty, False)
        self._dirty = None
        self._misses = 0
        self._promotions += 1

    def _dirty_locked(self) -> None:
        """Build the dirty map from the read map, expunging deleted entries (an O(n) copy)."""
        if self._dirty is not None:
            return
        # The read map holds no expunged entry here (it was the last dirty map, or empty), so
        # every entry expunged now was deleted since the last promotion.
        dirty = {}
        for k, e in self._read.m.items():
            if _try_expunge(e):
                self._expunged += 1
            else:
                dirty[k] = e
        self._dirty = dirty
        self._dirty_builds += 1

    # --- iteration and size ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        # Go's Range: promote the dirty map first, then walk a read map nobody mutates.
        read = self._read
        if read.amended:
            with self._mu:
                if self._read.amended:
                    self._promote_locked()
                read = self._read
        for k, e in read.m.items():
            if _live(e.p):
                yield k

    def __len__(self) -> int:
        read = self._read
        if not read.amended:
            return sum(1 for e in read.m.values() if _live(e.p))
        with self._mu:  # the dirty map holds every live key, and changes only under the mutex
            source = self._dirty if self._read.amended else self._read.m
            assert source is not None
            return sum(1 for e in source.values() if _live(e.p))

    def __repr__(self) -> str:
        return f"SyncMap(size={len(self)}, promotions={self._promotions})"

    def counters(self) -> Mapping[str, int]:
        """Exact totals of the mechanism's events since the map was made: `misses` (lookups and
        deletes that missed the read map and took the mutex), `promotions` (the dirty map became
        the read map), `expunged` (deleted entries dropped when the dirty map was rebuilt) and
        `dirty_builds` (O(n) rebuilds of the dirty map from the read map)."""
        with self._mu:
            return {
                "misses": self._miss_total,
                "promotions": self._promotions,
                "expunged": self._expunged,
                "dirty_builds": self._dirty_builds,
            }

    def pending_misses(self) -> int:
        """Misses since the last promotion; the dirty map is promoted when they reach its size."""
        return self._misses

    def close(self) -> None:
        """Nothing to release."""


MAPS = (
    MapInfo(
        "syncmap",
        SyncMap,
        "Go's sync.Map: lock-free read map, dirty map under a mutex, promoted after misses",
    ),
)
