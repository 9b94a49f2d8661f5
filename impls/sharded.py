"""A map split over N dicts, each guarded by its own lock, like Go's concurrent-map."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from mapbench.protocol import iter_update_items
from mapbench.registry import MapInfo

_MISSING = object()
_GOLDEN = 0x9E3779B97F4A7C15  # 2**64 / golden ratio, odd: a bijection on 64-bit hashes
_MASK64 = 2**64 - 1


class ShardedMap:
    """N dict shards, each with a lock; the shard is chosen from the key's hash."""

    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)
    thread_safe: Literal[True] = True

    def __init__(self, shards: int = 32) -> None:
        if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
            raise ValueError(f"shards must be a positive integer, not {shards!r}")
        self._shards: list[dict[Any, Any]] = [{} for _ in range(shards)]
        self._locks = [threading.Lock() for _ in range(shards)]

    def _index(self, key: Any) -> int:
        # Multiply-shift on the hash's high bits: `hash % n` would give every key of a shard the
        # same low bits, which are exactly the bits the shard's own dict uses for its home slot.
        return ((hash(key) * _GOLDEN) & _MASK64) * len(self._shards) >> 64

    def __getitem__(self, key: Any) -> Any:
        i = self._index(key)
        with self._locks[i]:
            return self._shards[i][key]

    def __setitem__(self, key: Any, value: Any) -> None:
        i = self._index(key)
        with self._locks[i]:
            self._shards[i][key] = value

    def __delitem__(self, key: Any) -> None:
        i = self._index(key)
        with self._locks[i]:
            del self._shards[i][key]

    def __contains__(self, key: object) -> bool:
        i = self._index(key)
        with self._locks[i]:
            return key in self._shards[i]

    def get(self, key: Any, default: Any = None) -> Any:
        i = self._index(key)
        with self._locks[i]:
            return self._shards[i].get(key, default)

    def __len__(self) -> int:
        return sum(self.shard_sizes())

    def __iter__(self) -> Iterator[Any]:
        # Each shard is copied under its lock so that concurrent writers cannot break iteration.
        for shard, lock in zip(self._shards, self._locks, strict=True):
            with lock:
                keys = list(shard)
            yield from keys

    def __repr__(self) -> str:
        return f"ShardedMap(shards={len(self._shards)}, size={len(self)})"

    def clear(self) -> None:
        for shard, lock in zip(self._shards, self._locks, strict=True):
            with lock:
                shard.clear()

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        for key, value in iter_update_items(other, **kwargs):
            self[key] = value

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        i = self._index(key)
        with self._locks[i]:
            if default is _MISSING:
                return self._shards[i].pop(key)
            return self._shards[i].pop(key, default)

    def shard_sizes(self) -> list[int]:
        """Entries per shard; their spread shows how evenly the hash spreads keys."""
        return [len(shard) for shard in self._shards]

    def imbalance(self) -> float:
        """Largest shard size over the mean shard size (1.0 is perfectly even)."""
        return _imbalance(self.shard_sizes())

    def backing_dicts(self) -> list[dict[Any, Any]]:
        """The shards' dicts, whose tables mapbench reads for probe lengths (`DictBacked`)."""
        return list(self._shards)

    def close(self) -> None:
        """Nothing to release."""


def _imbalance(sizes: list[int]) -> float:
    total = sum(sizes)
    return max(sizes) * len(sizes) / total if total else 1.0


MAPS = (
    MapInfo(
        "sharded",
        ShardedMap,
        "N dict shards with a lock each (thread-safe)",
        defaults={"shards": 32},
    ),
)
