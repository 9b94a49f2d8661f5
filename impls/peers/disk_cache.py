"""diskcache.Cache in a temporary directory, with eviction off: a sqlite-indexed store."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any, Literal

from diskcache import Cache, Disk
from mapbench.impls.peers._ondisk import (
    OnDiskDeclarations,
    TempDir,
    checkpoint,
    decode_key,
    encode_key,
)

from mapbench.protocol import iter_update_items


class TaggedKeys(Disk):  # type: ignore[misc]  # diskcache is untyped
    """diskcache's Disk with keys encoded by type (its own encoding keeps ints as they are
    but pickles bools, so `True` and `1` would be two keys)."""

    def put(self, key: Any) -> tuple[Any, bool]:
        return sqlite3.Binary(encode_key(key)), True

    def get(self, key: Any, raw: bool) -> Any:
        return decode_key(key)


class DiskCacheMap(OnDiskDeclarations):
    """A Cache (held, not subclassed: Cache calls its own close() to drop a thread's
    connection); every write is its own transaction, so `flush()` has nothing left to do.

    diskcache is thread- and process-safe: each thread gets its own sqlite connection.
    """

    thread_safe: Literal[True] = True

    def __init__(self) -> None:
        self._tmp = TempDir("diskcache")
        try:
            self._cache = Cache(
                self._tmp.path, disk=TaggedKeys, eviction_policy="none", statistics=False
            )
        except BaseException:
            self._tmp.remove()
            raise

    @property
    def path(self) -> str:
        """The sqlite index (small values live in it; large ones in files beside it)."""
        return os.path.join(self._tmp.path, "cache.db")

    def __getitem__(self, key: Any) -> Any:
        return self._cache[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._cache[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._cache[key]

    def __contains__(self, key: object) -> bool:
        return key in self._cache

    def get(self, key: Any, default: Any = None) -> Any:
        return self._cache.get(key, default)

    def __len__(self) -> int:
        return len(self._cache)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cache)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Every pair in one transaction (Cache has no update of its own)."""
        cache = self._cache
        with cache.transact():
            for key, value in iter_update_items(other, **kwargs):
                cache[key] = value

    def clear(self) -> None:
        self._cache.clear()

    def flush(self) -> None:
        """Each write was committed as it happened; move sqlite's write-ahead log into the file."""
        checkpoint(self.path)

    def close(self) -> None:
        """Close the cache, then remove the temporary directory."""
        try:
            self._cache.close()
        finally:
            self._tmp.remove()

    def __repr__(self) -> str:
        return f"DiskCacheMap({self.path!r})"
