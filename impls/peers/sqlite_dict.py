"""sqlitedict.SqliteDict on a temporary file: one sqlite table behind a request thread."""

from __future__ import annotations

import os
from typing import Any

from mapbench.impls.peers._ondisk import OnDiskDeclarations, TempDir, decode_key, encode_key
from sqlitedict import SqliteDict

from mapbench.protocol import iter_update_items


class SqliteDictMap(OnDiskDeclarations, SqliteDict):  # type: ignore[misc]  # untyped package
    """SqliteDict itself with tagged keys (so `1`, `"1"` and `b"1"` stay apart), no autocommit
    (`flush()` commits), on a file in its own temporary directory that `close()` removes.

    SqliteDict queues each write to a thread of its own: `m[k] = v` returns once queued.
    """

    def __init__(self) -> None:
        self._tmp = TempDir("sqlitedict")
        try:
            super().__init__(
                os.path.join(self._tmp.path, "map.sqlite"),
                tablename="map",
                autocommit=False,
                encode_key=encode_key,
                decode_key=decode_key,
                outer_stack=False,
            )
        except BaseException:
            self._tmp.remove()
            raise

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """SqliteDict's update (one executemany), returning once its thread has run it: a filled
        map holds its entries in sqlite, not in a queue whose length depends on scheduling.
        Every form dict.update takes is read as dict reads it (SqliteDict's own misreads an
        object with keys() that is not a Mapping)."""
        super().update(list(iter_update_items(other, **kwargs)))
        self.conn.select_one("SELECT 1")  # a read waits for every queued write

    @property
    def path(self) -> str:
        """The sqlite file."""
        return str(self.filename)

    def flush(self) -> None:
        """Commit, so the file holds every write."""
        self.commit()

    def close(self, *args: Any, **kwargs: Any) -> None:
        """Close the connection and its thread, then remove the temporary directory."""
        try:
            super().close(*args, **kwargs)
        finally:
            self._tmp.remove()

    def __repr__(self) -> str:
        return f"SqliteDictMap({self.path!r})"
