"""The standard library's `dbm.sqlite3` (Python 3.13+) on a temporary file."""

from __future__ import annotations

import dbm.sqlite3  # type: ignore[import-not-found,unused-ignore]  # Python 3.13+
import os
from collections.abc import Iterator
from typing import Any

from mapbench.impls.peers._ondisk import (
    OnDiskDeclarations,
    TempDir,
    checkpoint,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
)

from mapbench.protocol import iter_update_items


class DbmSqliteMap(OnDiskDeclarations):
    """dbm.sqlite3 as `shelve` uses it (pickled values), keys tagged by type; each write is
    committed as it happens (its connection autocommits)."""

    def __init__(self) -> None:
        self._tmp = TempDir("dbm")
        self._file = os.path.join(self._tmp.path, "map.sqlite3")
        try:
            self._db = dbm.sqlite3.open(self._file, "c")  # noqa: SIM115 - closed by close()
        except BaseException:
            self._tmp.remove()
            raise
        self._closed = False

    @property
    def path(self) -> str:
        """The sqlite file."""
        return self._file

    def __getitem__(self, key: Any) -> Any:
        try:
            raw = self._db[encode_key(key)]
        except KeyError:
            raise KeyError(key) from None
        return decode_value(raw)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._db[encode_key(key)] = encode_value(value)

    def __delitem__(self, key: Any) -> None:
        try:
            del self._db[encode_key(key)]
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        return encode_key(key) in self._db

    def get(self, key: Any, default: Any = None) -> Any:
        raw = self._db.get(encode_key(key))
        return default if raw is None else decode_value(raw)

    def __len__(self) -> int:
        return len(self._db)

    def __iter__(self) -> Iterator[Any]:
        return map(decode_key, self._db.keys())  # a list: iteration sees one state

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        db = self._db
        for key, value in iter_update_items(other, **kwargs):
            db[encode_key(key)] = encode_value(value)

    def clear(self) -> None:
        self._db.clear()

    def flush(self) -> None:
        """Each write was committed as it happened; move sqlite's write-ahead log into the file."""
        checkpoint(self._file)

    def close(self) -> None:
        """Close the database and remove the temporary directory."""
        if self._closed:
            return
        self._closed = True
        try:
            self._db.close()
        finally:
            self._tmp.remove()

    def __repr__(self) -> str:
        return f"DbmSqliteMap({self._file!r})"
