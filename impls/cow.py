"""A copy-on-write map: lock-free reads of an immutable snapshot, writes swap in a new copy."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from mapbench.protocol import KeyOrder, iter_update_items
from mapbench.registry import MapInfo

_MISSING = object()


class CowMap:
    """Readers use the current snapshot without locking; each write copies it under a lock.

    The snapshot dict is never mutated after it is published, and publishing is one attribute
    assignment (atomic in CPython), so a reader always sees one complete version.
    """

    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)
    key_order: ClassVar[KeyOrder] = "insertion"
    thread_safe: Literal[True] = True

    def __init__(self) -> None:
        self._data: dict[Any, Any] = {}
        self._write_lock = threading.Lock()

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: Any, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __repr__(self) -> str:
        return f"CowMap(size={len(self)})"

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._write_lock:
            data = self._data.copy()
            data[key] = value
            self._data = data

    def __delitem__(self, key: Any) -> None:
        with self._write_lock:
            if key not in self._data:
                raise KeyError(key)
            data = self._data.copy()
            del data[key]
            self._data = data

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        with self._write_lock:
            if key not in self._data:
                if default is _MISSING:
                    raise KeyError(key)
                return default
            data = self._data.copy()
            value = data.pop(key)
            self._data = data
            return value

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Apply every pair with a single copy and a single swap."""
        with self._write_lock:
            data = self._data.copy()
            for key, value in iter_update_items(other, **kwargs):
                data[key] = value
            self._data = data

    def clear(self) -> None:
        with self._write_lock:
            self._data = {}

    def snapshot(self) -> Mapping[Any, Any]:
        """A read-only view of the current version; later writes never change it."""
        return MappingProxyType(self._data)

    def backing_dicts(self) -> list[dict[Any, Any]]:
        """The current snapshot's dict, whose table mapbench reads (`DictBacked`; it never
        changes once published)."""
        return [self._data]

    def close(self) -> None:
        """Nothing to release."""


MAPS = (MapInfo("cow", CowMap, "copy-on-write dict: lock-free reads, copying writes"),)
