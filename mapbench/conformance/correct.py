"""Correct maps written outside mapbench, as authors write them: what the kit must pass.

Self-contained like `broken` (copied into a directory of its own by the tests and
`scripts/conform_catch_rate.py`); `ImmutableMap` needs the `immutables` package.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict, UserDict
from collections.abc import Iterator, MutableMapping
from typing import Any


class UserDictMap(UserDict):  # type: ignore[type-arg]
    """A UserDict subclass, as it comes."""


class LRUMap(OrderedDict):  # type: ignore[type-arg]
    """The README's LRU map: reads reorder it, it evicts past `capacity`, and it iterates over
    a snapshot (reads during iteration would otherwise disturb it)."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        super().__init__()
        self.capacity = capacity

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        # Python 3.10's OrderedDict.pop reads a key it has already unlinked: nothing to move.
        with contextlib.suppress(KeyError):
            self.move_to_end(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.capacity:
            self.popitem(last=False)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(super().__iter__()))


class ImmutableMap(MutableMapping):  # type: ignore[type-arg]
    """An immutable mapping (immutables.Map) behind an adapter that keeps the current version."""

    def __init__(self) -> None:
        import immutables

        self._current: Any = immutables.Map()

    def __getitem__(self, key: Any) -> Any:
        return self._current[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._current = self._current.set(key, value)

    def __delitem__(self, key: Any) -> None:
        self._current = self._current.delete(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._current)

    def __len__(self) -> int:
        return len(self._current)


def make_user_dict() -> UserDictMap:
    """A factory function (not a class) whose map has no close(): adapted like a class."""
    return UserDictMap()


CORRECT = ("UserDictMap", "LRUMap", "ImmutableMap", "make_user_dict")
