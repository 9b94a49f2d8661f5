"""cachetools.LRUCache as a map: sized so that it never evicts, so every workload keeps its keys."""

from __future__ import annotations

import sys
from typing import ClassVar

from cachetools import LRUCache

from mapbench.protocol import ANY, KeyOrder


class LRUCacheMap(LRUCache):  # type: ignore[type-arg]
    """LRUCache itself with `maxsize=sys.maxsize` (each entry counts 1): it never evicts."""

    key_types: ClassVar[tuple[type, ...]] = ANY
    value_types: ClassVar[tuple[type, ...]] = ANY
    key_order: ClassVar[KeyOrder] = "insertion"  # its table is a dict; LRU order is kept aside

    def __init__(self, maxsize: int = sys.maxsize) -> None:
        super().__init__(maxsize)

    def close(self) -> None:
        """Nothing to release."""
