"""The builtin `dict`, the baseline every other map is compared with."""

from __future__ import annotations

from typing import ClassVar

from mapbench.protocol import KeyOrder
from mapbench.registry import MapInfo


class BuiltinDict(dict):  # type: ignore[type-arg]
    """CPython's `dict`, unchanged but for a no-op `close()` to satisfy the map protocol."""

    # No per-instance __dict__: the object keeps dict's exact memory layout and size.
    __slots__ = ()
    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)
    key_order: ClassVar[KeyOrder] = "insertion"

    def __init__(self) -> None:
        """An empty dict: the baseline takes no options (dict's keyword form would fill it)."""
        super().__init__()

    def close(self) -> None:
        """Nothing to release."""


MAPS = (MapInfo("dict", BuiltinDict, "CPython's builtin dict (baseline)"),)
