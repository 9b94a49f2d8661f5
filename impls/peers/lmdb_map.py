"""LMDB in a temporary directory: a copy-on-write B+tree in a memory-mapped file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import lmdb
from mapbench.impls.peers._ondisk import (
    OnDiskDeclarations,
    TempDir,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
)

from mapbench.protocol import iter_update_items

# Address space reserved for the file (it grows only as pages are written): 1M short keys
# take about 100 MiB.
MAP_SIZE = 1 << 32


class LmdbMap(OnDiskDeclarations):
    """One LMDB environment with one write transaction kept open; `flush()` commits it.

    Keys are tagged bytes (at most 511 bytes encoded, LMDB's limit); values are pickled.
    """

    def __init__(self, map_size: int = MAP_SIZE) -> None:
        self._tmp = TempDir("lmdb")
        try:
            self._env = lmdb.open(self._tmp.path, map_size=map_size, max_dbs=0)
        except BaseException:
            self._tmp.remove()
            raise
        self._txn = self._env.begin(write=True)
        self._closed = False

    @property
    def path(self) -> str:
        """The data file."""
        return os.path.join(self._tmp.path, "data.mdb")

    def __getitem__(self, key: Any) -> Any:
        raw = self._txn.get(encode_key(key))
        if raw is None:
            raise KeyError(key)
        return decode_value(raw)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._txn.put(encode_key(key), encode_value(value))

    def __delitem__(self, key: Any) -> None:
        if not self._txn.delete(encode_key(key)):
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self._txn.get(encode_key(key)) is not None

    def get(self, key: Any, default: Any = None) -> Any:
        raw = self._txn.get(encode_key(key))
        return default if raw is None else decode_value(raw)

    def __len__(self) -> int:
        return int(self._txn.stat()["entries"])

    def __iter__(self) -> Iterator[Any]:
        with self._txn.cursor() as cursor:
            for raw in cursor.iternext(keys=True, values=False):
                yield decode_key(raw)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        pairs = [(encode_key(k), encode_value(v)) for k, v in iter_update_items(other, **kwargs)]
        with self._txn.cursor() as cursor:
            cursor.putmulti(pairs)

    def clear(self) -> None:
        self._txn.drop(self._env.open_db(txn=self._txn), delete=False)

    def flush(self) -> None:
        """Commit the write transaction (durably) and open the next one."""
        self._txn.commit()
        self._txn = self._env.begin(write=True)

    def close(self) -> None:
        """Commit, close the environment and remove the temporary directory."""
        if self._closed:
            return
        self._closed = True
        try:
            self._txn.commit()
            self._env.close()
        finally:
            self._tmp.remove()

    def __repr__(self) -> str:
        return f"LmdbMap({self.path!r}, size={len(self)})"
