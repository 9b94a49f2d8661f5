"""Peer maps: the mappings people use, measured beside ours (`pip install 'mapbench[peers]'`).

Each peer is one module here with one class, imported only when a map is created (their
imports would cost every mapbench process ~100 ms); a peer whose package is missing is
registered as unavailable with the reason. What each adapter does and declares: docs/peers.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mapbench.registry import MapInfo

INSTALL_HINT = "pip install 'mapbench[peers]'"


@dataclass(frozen=True)
class Peer:
    """A third-party mapping: the module here that adapts it and the package it needs."""

    name: str
    module: str  # under mapbench.impls.peers
    attr: str
    package: str  # the import name of the measured package ("" for the standard library)
    description: str
    min_python: tuple[int, int] = (3, 10)
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def missing(self) -> str | None:
        """Why this peer cannot be created here, or None."""
        if sys.version_info < self.min_python:
            return f"needs Python {'.'.join(map(str, self.min_python))} or newer"
        if self.package and importlib.util.find_spec(self.package) is None:
            return f"package {self.package!r} is not installed ({INSTALL_HINT})"
        return None

    def info(self) -> MapInfo:
        """The registry entry: a lazy factory, or unavailable with the reason."""
        reason = self.missing()
        source = f"peer ({self.package or 'standard library'})"
        if reason is not None:
            return MapInfo(self.name, None, self.description, source, unavailable=reason)
        return MapInfo(self.name, LazyClass(self), self.description, source, self.defaults)


class LazyClass:
    """Calls the peer's class, importing its module (and the measured package) on first use."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def target(self) -> Any:
        module = importlib.import_module(f"{__name__}.{self.peer.module}")
        return getattr(module, self.peer.attr)

    def __call__(self, **options: Any) -> Any:
        return self.target()(**options)

    @property
    def __signature__(self) -> inspect.Signature:
        # The registry checks spec options against the real class's signature.
        return inspect.signature(self.target())


PEERS = (
    Peer(
        "immutables",
        "hamt",
        "HamtMap",
        "immutables",
        "immutables.Map, a hash array mapped trie: each write makes a new version (O(log n))",
    ),
    Peer(
        "pyrsistent",
        "pmap",
        "PMapEvolverMap",
        "pyrsistent",
        "pyrsistent's pmap written through its evolver; snapshot() is persistent()",
    ),
    Peer(
        "sortedcontainers",
        "sorted_dict",
        "SortedDictMap",
        "sortedcontainers",
        "sortedcontainers.SortedDict: a dict plus a sorted key list; one key type at a time",
    ),
    Peer(
        "cachetools",
        "lru",
        "LRUCacheMap",
        "cachetools",
        "cachetools.LRUCache sized never to evict (maxsize=sys.maxsize)",
    ),
    Peer(
        "frozendict",
        "frozen",
        "FrozenDictMap",
        "frozendict",
        "frozendict, copy-on-write: each write copies the whole dict (O(n))",
    ),
    Peer(
        "sqlitedict",
        "sqlite_dict",
        "SqliteDictMap",
        "sqlitedict",
        "sqlitedict.SqliteDict on a temporary file (pickled values; commit on flush)",
    ),
    Peer(
        "diskcache",
        "disk_cache",
        "DiskCacheMap",
        "diskcache",
        "diskcache.Cache in a temporary directory, eviction off",
    ),
    Peer(
        "lmdb",
        "lmdb_map",
        "LmdbMap",
        "lmdb",
        "LMDB (a B+tree in a memory-mapped file) in a temporary directory, one open write txn",
    ),
    Peer(
        "dbm-sqlite3",
        "dbm_sqlite",
        "DbmSqliteMap",
        "",
        "the standard library's dbm.sqlite3 on a temporary file (autocommit)",
        min_python=(3, 13),
    ),
)

MAPS = tuple(peer.info() for peer in PEERS)
