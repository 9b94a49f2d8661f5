"""What the on-disk peers share: a key codec and a temporary directory removed on close.

Stores that keep bytes (or flatten keys to text) would merge `1`, `"1"` and `b"1"`; every
key is encoded with a type tag first: `b"i<decimal>"`, `b"s<utf-8>"`, `b"b<raw>"`. Values are
pickled, so any picklable value round-trips with its type.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import tempfile
from contextlib import closing
from typing import Any, ClassVar

KEY_TYPES: tuple[type, ...] = (int, str, bytes)


def encode_key(key: Any) -> bytes:
    """`key` as tagged bytes; anything but int, str and bytes is a `TypeError`."""
    if isinstance(key, str):
        return b"s" + str.encode(key, "utf-8", "surrogatepass")
    if isinstance(key, int):  # bool too: True is the key 1, as in a dict
        return b"i%d" % key
    if isinstance(key, bytes):
        return b"b" + key
    raise TypeError(f"unsupported key type {type(key).__name__!r}; supported: int, str, bytes")


def decode_key(raw: bytes | memoryview) -> Any:
    """The key `encode_key` made `raw` from."""
    tag, body = bytes(raw[:1]), bytes(raw[1:])
    if tag == b"s":
        return body.decode("utf-8", "surrogatepass")
    if tag == b"i":
        return int(body)
    return body


def encode_value(value: Any) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def decode_value(raw: bytes | memoryview) -> Any:
    return pickle.loads(raw)


def checkpoint(sqlite_file: str) -> None:
    """Move a WAL-mode sqlite database's log into its file, so the file holds every write."""
    with closing(sqlite3.connect(sqlite_file)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class TempDir:
    """A fresh directory for one store, under `tempfile`'s directory, removed by `remove()`."""

    def __init__(self, kind: str) -> None:
        self.path = tempfile.mkdtemp(prefix=f"mapbench-{kind}-")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class OnDiskDeclarations:
    """What every on-disk peer declares: tagged int/str/bytes keys, any picklable value."""

    key_types: ClassVar[tuple[type, ...]] = KEY_TYPES
    value_types: ClassVar[tuple[type, ...]] = (object,)
