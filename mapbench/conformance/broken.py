"""Maps with one bug each, as a plug-in author might write them: what the kit must catch.

Self-contained (no import of mapbench), so that the tests and `scripts/conform_catch_rate.py`
copy this one source into a directory of their own and run `mapbench conform FILE:NAME`
there. `Correct` and `OpenAddressing` are the controls: they must pass. `BUGS` names the
broken ones and what each gets wrong.
"""

from __future__ import annotations

import contextlib
import sys
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any

_EMPTY = object()
_DELETED = object()


class Correct(dict):  # type: ignore[type-arg]
    """No bug: a plain dict subclass (mapbench adds close() and the declarations)."""


class OpenAddressing(MutableMapping):  # type: ignore[type-arg]
    """No bug: open addressing with CPython's probe sequence and tombstones, grown at 2/3
    load and shrunk below 1/8 (the broken tables below override one part each)."""

    def __init__(self) -> None:
        self._reset(8)

    def _reset(self, capacity: int) -> None:
        self._keys: list[Any] = [_EMPTY] * capacity
        self._hashes = [0] * capacity
        self._values: list[Any] = [None] * capacity
        self._used = 0  # live keys
        self._filled = 0  # live keys and tombstones

    def _same(self, stored: Any, stored_hash: int, key: Any, key_hash: int) -> bool:
        return stored is key or (stored_hash == key_hash and stored == key)

    def _find(self, key: Any) -> tuple[int, bool]:
        """The slot holding `key`, or the slot to store it in, and whether it is there."""
        h = hash(key)
        mask = len(self._keys) - 1
        i = h & mask
        perturb = h & 0xFFFFFFFFFFFFFFFF
        free = None
        while True:
            stored = self._keys[i]
            if stored is _EMPTY:
                return (i if free is None else free), False
            if stored is _DELETED:
                free = i if free is None else free
            elif self._same(stored, self._hashes[i], key, h):
                return i, True
            perturb >>= 5
            i = (5 * i + 1 + perturb) & mask

    def __getitem__(self, key: Any) -> Any:
        i, found = self._find(key)
        if not found:
            raise KeyError(key)
        return self._values[i]

    def __setitem__(self, key: Any, value: Any) -> None:
        i, found = self._find(key)
        if not found:
            self._filled += self._keys[i] is _EMPTY
            self._keys[i], self._hashes[i] = key, hash(key)
            self._used += 1
        self._values[i] = value
        if self._filled * 3 >= len(self._keys) * 2:
            self._resize(len(self._keys) * 2)

    def __delitem__(self, key: Any) -> None:
        i, found = self._find(key)
        if not found:
            raise KeyError(key)
        self._forget(i)
        self._used -= 1
        if self._used * 8 < len(self._keys) and len(self._keys) > 8:
            self._resize(len(self._keys) // 2)

    def _forget(self, i: int) -> None:
        self._keys[i], self._values[i] = _DELETED, None

    def _live(self) -> list[tuple[Any, Any]]:
        return [
            (k, v)
            for k, v in zip(self._keys, self._values, strict=True)
            if k is not _EMPTY and k is not _DELETED
        ]

    def _resize(self, capacity: int) -> None:
        live = self._live()
        self._reset(capacity)
        for key, value in live:
            self[key] = value

    def __iter__(self) -> Iterator[Any]:
        return iter([k for k, _ in self._live()])

    def __len__(self) -> int:
        return self._used

    def clear(self) -> None:
        self._reset(8)


class NoOpDelete(dict):  # type: ignore[type-arg]
    """del m[k] does nothing for a stored key."""

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)


class OffByOneLen(dict):  # type: ignore[type-arg]
    """len() is one short once the map holds more than 8 keys."""

    def __len__(self) -> int:
        n = super().__len__()
        return n - 1 if n > 8 else n


class SkipsAKey(dict):  # type: ignore[type-arg]
    """Iteration leaves out the last key once the map holds more than 8 keys."""

    def __iter__(self) -> Any:
        keys = list(super().__iter__())
        return iter(keys[:-1] if len(keys) > 8 else keys)


def _text(key: Any) -> Any:
    return key.decode("latin-1") if isinstance(key, bytes) else key


class TextAndBytesOneKey(dict):  # type: ignore[type-arg]
    """Keys are stored as text, so 'x' and b'x' are one key."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(_text(key), value)

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(_text(key))

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(_text(key))

    def __contains__(self, key: object) -> bool:
        return super().__contains__(_text(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(_text(key), default)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        for key, value in dict(other, **kwargs).items():
            self[key] = value


class DropsBigOverwrite(dict):  # type: ignore[type-arg]
    """An overwrite of an int key above 2**62 is silently dropped."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, int) and key > 2**62 and key in self:
            return
        super().__setitem__(key, value)


class DropsNearOverwrite(dict):  # type: ignore[type-arg]
    """An overwrite of an int key within 2**16 above 2**62 is dropped."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, int) and 2**62 < key < 2**62 + 2**16 and key in self:
            return
        super().__setitem__(key, value)


class PopMissingReturnsNone(dict):  # type: ignore[type-arg]
    """pop() of a missing key returns None instead of raising KeyError."""

    def pop(self, key: Any, *default: Any) -> Any:
        return super().pop(key, *(default or (None,)))


class EqualKeysApart(MutableMapping):  # type: ignore[type-arg]
    """Keys are filed by (type, value): 1, 1.0 and True are three keys."""

    def __init__(self) -> None:
        self._d: dict[tuple[type, Any], tuple[Any, Any]] = {}

    def __getitem__(self, key: Any) -> Any:
        return self._d[type(key), key][1]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._d[type(key), key] = (key, value)

    def __delitem__(self, key: Any) -> None:
        del self._d[type(key), key]

    def __iter__(self) -> Iterator[Any]:
        return iter([k for k, _ in self._d.values()])

    def __len__(self) -> int:
        return len(self._d)


class OverwriteLostAt37(dict):  # type: ignore[type-arg]
    """An overwrite is dropped when the map holds exactly 37 keys (a rare state)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if len(self) == 37 and key in self:
            return
        super().__setitem__(key, value)


class TombstoneLost(OpenAddressing):
    """A deleted slot is marked empty, not as a tombstone: keys probed past it get lost."""

    def _forget(self, i: int) -> None:
        self._keys[i], self._values[i] = _EMPTY, None
        self._filled -= 1


class ReadReordersIteration(OrderedDict):  # type: ignore[type-arg]
    """An LRU map whose reads reorder it while iteration walks it: RuntimeError."""

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        # Python 3.10's OrderedDict.pop reads a key it has already unlinked: nothing to move.
        with contextlib.suppress(KeyError):
            self.move_to_end(key)
        return value


class ResizeLosesAKey(OpenAddressing):
    """Growing the table forgets the key in its last slot."""

    def _resize(self, capacity: int) -> None:
        last = self._keys[-1]
        live = [(k, v) for k, v in self._live() if k is not last]
        self._reset(capacity)
        for key, value in live:
            self[key] = value


class ShrinkLosesKeys(OpenAddressing):
    """Shrinking the table keeps only the keys of the old table's first half."""

    def _resize(self, capacity: int) -> None:
        old = len(self._keys)
        live = self._live() if capacity > old else [
            (k, v) for k, v in zip(self._keys[: old // 2], self._values, strict=False)
            if k is not _EMPTY and k is not _DELETED
        ]  # fmt: skip
        self._reset(capacity)
        for key, value in live:
            self[key] = value


class HashesCompared(OpenAddressing):
    """Keys with equal hashes are taken for the same key (-1 and -2 hash alike)."""

    def _same(self, stored: Any, stored_hash: int, key: Any, key_hash: int) -> bool:
        return stored_hash == key_hash


class InternsTextKeys(dict):  # type: ignore[type-arg]
    """str keys go through sys.intern, which refuses str subclasses (TypeError)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(sys.intern(key) if isinstance(key, str) else key, value)


class IterationYieldsDeleted(dict):  # type: ignore[type-arg]
    """Iteration walks an insertion log from which deletes are not removed."""

    def __init__(self) -> None:
        super().__init__()
        self._log: list[Any] = []

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self:
            self._log.append(key)
        super().__setitem__(key, value)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._log))


class StaleKeysView(dict):  # type: ignore[type-arg]
    """keys() is cached, and a delete does not clear the cache."""

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[Any] | None = None

    def __setitem__(self, key: Any, value: Any) -> None:
        self._keys = None
        super().__setitem__(key, value)

    def keys(self) -> Any:
        if self._keys is None:
            self._keys = list(super().keys())
        return self._keys


class GetIgnoresDefault(dict):  # type: ignore[type-arg]
    """get(k, d) returns None for a missing key, whatever d."""

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else None  # noqa: SIM401 - the bug


class SetdefaultDoesNotStore(dict):  # type: ignore[type-arg]
    """setdefault(k, d) returns d for a missing key but does not store it."""

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 - the bug


class PopitemEmptyIndexError(MutableMapping):  # type: ignore[type-arg]
    """popitem() of an empty map raises IndexError (from the list it pops), not KeyError."""

    def __init__(self) -> None:
        self._d: dict[Any, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        return self._d[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._d[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._d[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._d))

    def __len__(self) -> int:
        return len(self._d)

    def popitem(self) -> tuple[Any, Any]:
        key = list(self._d).pop()
        return key, self._d.pop(key)


class FailedSetCountsKey(MutableMapping):  # type: ignore[type-arg]
    """A store counts the key before hashing it: an unhashable key raises TypeError but
    leaves len() one too high."""

    def __init__(self) -> None:
        self._d: dict[Any, Any] = {}
        self._n = 0

    def __getitem__(self, key: Any) -> Any:
        return self._d[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._n += 1
        if key in self._d:
            self._n -= 1
        self._d[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._d[key]
        self._n -= 1

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._d))

    def __len__(self) -> int:
        return self._n


class ContainsFalsyIsFalse(dict):  # type: ignore[type-arg]
    """`k in m` is `bool(m.get(k))`: a key stored with the value 0 is "not in" the map."""

    def __contains__(self, key: object) -> bool:
        return bool(self.get(key))


class ClearKeepsOverflow(MutableMapping):  # type: ignore[type-arg]
    """Keys past the 64th go to an overflow dict, which clear() forgets to empty."""

    def __init__(self) -> None:
        self._small: dict[Any, Any] = {}
        self._big: dict[Any, Any] = {}

    def _home(self, key: Any) -> dict[Any, Any]:
        if key in self._small:
            return self._small
        return self._big if key in self._big or len(self._small) >= 64 else self._small

    def __getitem__(self, key: Any) -> Any:
        return self._home(key)[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._home(key)[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._home(key)[key]

    def __iter__(self) -> Iterator[Any]:
        return iter([*self._small, *self._big])

    def __len__(self) -> int:
        return len(self._small) + len(self._big)

    def clear(self) -> None:
        self._small.clear()


class UpdateIgnoresKeywords(dict):  # type: ignore[type-arg]
    """update() stores its positional argument and drops keyword arguments."""

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        super().update(other)


class EqComparesLen(dict):  # type: ignore[type-arg]
    """m == other compares only the number of keys."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and len(self) == len(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None


# The broken maps, in the order the catch-rate table lists them: the ten, then ten kinds
# more (resize, deletion, hashing, iteration, views, error paths), then a few beyond.
BUGS = (
    "NoOpDelete",
    "OffByOneLen",
    "SkipsAKey",
    "TextAndBytesOneKey",
    "DropsBigOverwrite",
    "DropsNearOverwrite",
    "PopMissingReturnsNone",
    "EqualKeysApart",
    "OverwriteLostAt37",
    "TombstoneLost",
    "ReadReordersIteration",
    "ResizeLosesAKey",
    "ShrinkLosesKeys",
    "HashesCompared",
    "InternsTextKeys",
    "IterationYieldsDeleted",
    "StaleKeysView",
    "GetIgnoresDefault",
    "SetdefaultDoesNotStore",
    "PopitemEmptyIndexError",
    "FailedSetCountsKey",
    "ContainsFalsyIsFalse",
    "ClearKeepsOverflow",
    "UpdateIgnoresKeywords",
    "EqComparesLen",
)
CONTROLS = ("Correct", "OpenAddressing")
