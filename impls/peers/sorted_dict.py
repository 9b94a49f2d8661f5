"""sortedcontainers.SortedDict, declared: keys of one orderable type at a time, sorted order."""

from __future__ import annotations

from typing import ClassVar

from sortedcontainers import SortedDict

from mapbench.protocol import ANY, KeyOrder


class SortedDictMap(SortedDict):  # type: ignore[misc]  # sortedcontainers has no type hints
    """SortedDict itself; only its declarations and a no-op close() are added."""

    key_types: ClassVar[tuple[type, ...]] = ANY
    value_types: ClassVar[tuple[type, ...]] = ANY
    mixed_key_types: ClassVar[bool] = False  # keys are compared with each other
    key_order: ClassVar[KeyOrder] = "sorted"

    def __init__(self) -> None:
        super().__init__()

    def close(self) -> None:
        """Nothing to release."""
