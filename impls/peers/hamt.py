"""immutables.Map (the HAMT behind `contextvars`) used as a mutable map: `m = m.set(k, v)`."""

from __future__ import annotations

from typing import Any

import immutables
from mapbench.impls.peers._versioned import Versioned

from mapbench.protocol import iter_update_items


class HamtMap(Versioned):
    """Each write makes a new version sharing all but O(log n) nodes with the old one."""

    _current: immutables.Map[Any, Any]

    def __init__(self) -> None:
        self._current = immutables.Map()

    def __setitem__(self, key: Any, value: Any) -> None:
        self._current = self._current.set(key, value)

    def __delitem__(self, key: Any) -> None:
        self._current = self._current.delete(key)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Every pair through one mutation: a single new version, as immutables intends."""
        with self._current.mutate() as mutation:
            for key, value in iter_update_items(other, **kwargs):
                mutation[key] = value
            self._current = mutation.finish()

    def clear(self) -> None:
        self._current = immutables.Map()
