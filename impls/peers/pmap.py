"""pyrsistent's pmap written through its evolver (its fast path for many writes)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pyrsistent

from mapbench.protocol import ANY, iter_update_items

_MISSING = object()


class PMapEvolverMap:
    """Writes go to one evolver; reads to it too; iteration and snapshot() to `persistent()`."""

    key_types: ClassVar[tuple[type, ...]] = ANY
    value_types: ClassVar[tuple[type, ...]] = ANY

    def __init__(self) -> None:
        self._evolver: pyrsistent.PMapEvolver[Any, Any] = pyrsistent.pmap().evolver()

    def __getitem__(self, key: Any) -> Any:
        return self._evolver[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._evolver[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._evolver[key]

    def __contains__(self, key: object) -> bool:
        return key in self._evolver  # type: ignore[operator]  # it has __contains__

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self._evolver[key]
        except KeyError:
            return default

    def __len__(self) -> int:
        return len(self._evolver)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._evolver.persistent())

    def __repr__(self) -> str:
        return f"PMapEvolverMap(size={len(self)})"

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        evolver = self._evolver
        for key, value in iter_update_items(other, **kwargs):
            evolver[key] = value

    def clear(self) -> None:
        self._evolver = pyrsistent.pmap().evolver()

    def snapshot(self) -> Mapping[Any, Any]:
        """An immutable pmap of the current contents (O(changes since the last one))."""
        return self._evolver.persistent()

    def close(self) -> None:
        """Nothing to release."""
