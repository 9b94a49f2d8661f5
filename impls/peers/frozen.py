"""frozendict used as a mutable map: copy-on-write, each write copies the whole dict."""

from __future__ import annotations

from typing import Any, ClassVar

from frozendict import frozendict
from mapbench.impls.peers._versioned import Versioned

from mapbench.protocol import KeyOrder, iter_update_items


class FrozenDictMap(Versioned):
    """A frozendict replaced on every write (O(n)): a dict's reads, copying writes."""

    key_order: ClassVar[KeyOrder] = "insertion"
    _current: frozendict[Any, Any]

    def __init__(self) -> None:
        self._current = frozendict()

    def __setitem__(self, key: Any, value: Any) -> None:
        self._current = self._current.set(key, value)

    def __delitem__(self, key: Any) -> None:
        self._current = self._current.delete(key)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Every pair in one copy."""
        data = dict(self._current)
        data.update(iter_update_items(other, **kwargs))
        self._current = frozendict(data)

    def clear(self) -> None:
        self._current = frozendict()
