"""The sensitivity benchmark's test map: a dict whose lookups do a known, adjustable amount of work.

Kept free of heavy imports: every worker process of the benchmark imports it.
"""

from __future__ import annotations

from typing import Any, ClassVar

# Base work of one lookup: this many loop iterations, so "5%" is exactly 20 more iterations. The
# loop runs over a tuple of None, so every iteration costs the same (a `range` past 256 creates
# an int per iteration, and the extra iterations would cost more than the first ones); the call
# and the dict lookup around it are small, so 5% more iterations make a lookup ~4.5% slower
# (docs/ci.md measures each level).
WORK = 400


class SlowMap(dict):  # type: ignore[type-arg]
    """A dict whose lookups first spin `WORK * (1 + extra/100)` empty loop iterations."""

    __slots__ = ("_spin",)
    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)

    def __init__(self, extra: float = 0.0) -> None:
        super().__init__()
        self._spin = (None,) * (WORK + round(WORK * extra / 100))

    def __getitem__(self, key: Any) -> Any:
        for _ in self._spin:
            pass
        return dict.__getitem__(self, key)

    def close(self) -> None:
        """Nothing to release."""
