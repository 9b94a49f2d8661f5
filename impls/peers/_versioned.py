"""The shared shape of peers built on an immutable mapping: reads go to the current version,
each write replaces it with a new one, and `snapshot()` hands out a version (free: it never
changes)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from mapbench.protocol import ANY, KeyOrder


class Versioned:
    """A mutable map over immutable versions; subclasses say how a write makes the next one."""

    key_types: ClassVar[tuple[type, ...]] = ANY
    value_types: ClassVar[tuple[type, ...]] = ANY
    key_order: ClassVar[KeyOrder] = "none"
    _current: Mapping[Any, Any]

    def __getitem__(self, key: Any) -> Any:
        return self._current[key]

    def __contains__(self, key: object) -> bool:
        return key in self._current

    def get(self, key: Any, default: Any = None) -> Any:
        return self._current.get(key, default)

    def __len__(self) -> int:
        return len(self._current)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._current)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={len(self)})"

    def snapshot(self) -> Mapping[Any, Any]:
        """The current version: immutable, so later writes never change it."""
        return self._current

    def close(self) -> None:
        """Nothing to release."""
