"""A persistent hash map in a memory-mapped file that survives SIGKILL and rejects damaged files.

Crash safety comes from never modifying committed state in place (see docs/mmap.md):
every table exists twice, the writer changes only the working copy and appends blobs past the
committed end, and `flush()` commits by msync-ing the data, then writing a checksummed header
(alternating between two header copies), and only then bringing the other copy up to date.
Readers in other processes read the committed copy and retry when the commit counter moves.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Iterator, MutableMapping
from typing import Any, ClassVar
from zlib import crc32

from mapbench.impls import _mmap_format as fmt
from mapbench.impls._mmap_check import (
    Summary,
    live_ranges,
    live_slots,
    probe_stats_of,
    slot_tags,
    verify_tables,
)
from mapbench.impls._mmap_format import (
    BLOCK_WORDS,
    DATA_START,
    EMPTY,
    FORMAT_VERSION,
    GOLDEN,
    KIND_BLOB,
    KT_BYTES,
    KT_INT,
    KT_STR,
    LEN_MASK,
    M64,
    TAG_MASK,
    TOMBSTONE,
    VT_BYTES,
    MmapBusyError,
    MmapCorruptError,
    MmapForeignFileError,
    MmapFormatError,
    MmapTruncatedError,
    MmapVersionError,
)
from mapbench.impls._mmap_storage import (
    COMPACTING,
    EXCLUSIVE,
    UNPIN,
    MmapLockedError,
    Storage,
    capacity_for,
    fsync_dir,
    pin,
)

from mapbench.errors import MapbenchError
from mapbench.protocol import (
    INT64_MAX,
    INT64_MIN,
    ProbeStats,
    check_key,
    check_value,
    iter_update_items,
)
from mapbench.registry import MapInfo

__all__ = [
    "MmapBusyError",
    "MmapCorruptError",
    "MmapForeignFileError",
    "MmapFormatError",
    "MmapLockedError",
    "MmapMap",
    "MmapReadOnlyError",
    "MmapReader",
    "MmapTruncatedError",
    "MmapVersionError",
    "Summary",
    "live_ranges",
]

NOT_VT = M64 ^ VT_BYTES  # a live tag without its value-type bit
_COUNTER = fmt.COUNTER_OFFSET // 8
_SUPERSEDED = fmt.SUPERSEDED_OFFSET // 8


class MmapReadOnlyError(MapbenchError):
    """A write through a map opened with `writer=False`."""


class MmapMap(Storage, MutableMapping[Any, Any]):
    """Open addressing (linear probing) in a memory-mapped file; int64/str/bytes keys.

    Values are int64 or bytes. `path=None` makes a temporary file removed on close. `create`:
    None opens or creates, True creates a new file (or makes an empty file a map), False
    requires an existing one; a new file appears at its path only complete. One writer per
    file (a second gets `MmapLockedError`, or waits with `wait=True`); any number of readers
    (`writer=False`, an `MmapReader`) see the last flushed state. `verify=True` checks every
    checksum on open (one pass over the table); False checks the headers only.
    """

    key_types: ClassVar[tuple[type, ...]] = (int, str, bytes)
    value_types: ClassVar[tuple[type, ...]] = (int, bytes)

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool | None = None,
        writer: bool = True,
        wait: bool = False,
        seed: int = 0,
        verify: bool = True,
        capacity: int = fmt.MIN_CAPACITY,
    ) -> None:
        if not 0 <= seed <= M64:
            raise ValueError(f"seed must be an unsigned 64-bit integer, not {seed!r}")
        self._closed = True  # until the file is open: close() and __del__ have nothing to do
        self._temp = path is None
        if path is None:
            handle, name = tempfile.mkstemp(prefix="mapbench-mmap-", suffix=".map")
            os.close(handle)
            path, create = name, True  # replaces the empty file by a new map
        self._path = os.fspath(path)
        self._mutations = 0
        if not writer:
            self.__class__ = MmapReader
        try:
            self._open(create, wait, seed, verify, capacity)
            if writer and self._hdr.version < FORMAT_VERSION:
                self.compact()  # a writer writes only the current format: upgrade the file
        except BaseException as exc:
            if not self._closed:
                self._release()  # (which removes a temporary file)
            elif self._temp and os.path.lexists(self._path):
                os.unlink(self._path)
            if isinstance(exc, MmapFormatError):
                raise self._named(exc) from None
            raise

    def _named(self, exc: MapbenchError) -> MapbenchError:
        """`exc` with this map's path in front of its message (if it is not there already)."""
        if str(exc).startswith(f"{self._path}: "):
            return exc
        return type(exc)(f"{self._path}: {exc}")

    def _corrupt(self, what: str) -> MmapCorruptError:
        return MmapCorruptError(f"{self._path}: {what}")

    @classmethod
    def _blank(cls, path: str, seed: int, capacity: int) -> MmapMap:
        """A new empty map at `path`, which must not exist (compaction builds one)."""
        m = cls.__new__(cls)
        m._closed, m._temp, m._path, m._mutations = True, False, path, 0
        m._build(seed, capacity_for(capacity))
        return m

    # --- properties --------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The file holding the map."""
        return self._path

    @property
    def capacity(self) -> int:
        return self._cap

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"size={len(self)}, capacity={self._cap}"
        return f"{type(self).__name__}({self._path!r}, {state})"

    # --- lookups -----------------------------------------------------------------------------

    def _find(self, key: Any) -> int:
        """The word index of `key`'s slot, or -1 if absent.

        The hot path of every lookup: `fmt.hash_int`/`hash_blob` and the blob comparison are
        inlined (each call would add a tenth to a lookup).
        """
        kind = type(key)
        if kind is int:
            h = ((key & M64) ^ self._seed) * GOLDEN & M64
            want = h & TAG_MASK | KT_INT
            raw = None
        elif kind is str or kind is bytes:
            raw = key.encode("utf-8", "surrogatepass") if kind is str else key
            h = ((crc32(raw) | len(raw) << 32) ^ self._seed) * GOLDEN & M64
            want = h & TAG_MASK | (KT_STR if kind is str else KT_BYTES)
        else:
            return self._find(self._plain(key))
        tags = self._Q
        b: int = self._base + 3 * (h >> self._shift)
        wrapped = False
        while True:
            t = tags[b]
            if not t:
                return -1
            if t & NOT_VT == want:
                if raw is None:
                    if self._q[b + 1] == key:
                        return b
                else:
                    # Slicing the mmap copies at most len(raw) bytes, whatever the offset word
                    # holds (a reader's torn read included).
                    off = tags[b + 1]
                    n = len(raw)
                    if tags[off >> 3] & LEN_MASK == n and self._mm[off + 8 : off + 8 + n] == raw:
                        return b
            b += 3
            if b == self._stop:
                # A table always has an empty slot: passing the end twice means the slots were
                # damaged, or (for a reader) rewritten by a commit during the probe.
                if wrapped:
                    raise self._corrupt("a probe found no empty slot")
                wrapped = True
                b = self._base

    def _blob_key(self, key: str | bytes) -> tuple[int, int, bytes]:
        """(key type, hash, bytes) of a plain str or bytes key."""
        if isinstance(key, str):
            raw = fmt.encode_str(key)
            return KT_STR, fmt.hash_blob(raw, self._seed), raw
        return KT_BYTES, fmt.hash_blob(key, self._seed), key

    def _plain(self, key: Any) -> Any:
        """`key` as a plain int/str/bytes (for subclasses), or the TypeError naming the types."""
        check_key(self, key)
        if isinstance(key, int):
            return int(key)
        return str(key) if isinstance(key, str) else bytes(key)

    def _blob_equals(self, off: int, raw: bytes) -> bool:
        # Slicing the mmap copies at most len(raw) bytes, whatever a torn read put in `off`.
        n = len(raw)
        return self._Q[off >> 3] & LEN_MASK == n and self._mm[off + 8 : off + 8 + n] == raw

    def _blob(self, off: int) -> bytes:
        """The data of the blob at `off`, which must lie below the allocated end."""
        if off & 7 or off < DATA_START or off + 8 > self._end:
            raise self._corrupt(f"blob offset {off} outside the allocated area")
        end = off + 8 + (self._Q[off >> 3] & LEN_MASK)
        if end > self._end:
            raise self._corrupt(f"blob at offset {off} runs past the allocated area")
        return self._mm[off + 8 : end]

    def _value_of(self, tag: int, word: int) -> Any:
        """The value a slot with this tag and value word holds."""
        if tag & VT_BYTES:
            return self._blob(word)
        return word - (word >> 63 << 64)

    def _key_of(self, tag: int, word: int) -> Any:
        """The key a slot with this tag and key word holds."""
        kt = tag & 3
        if kt == KT_INT:
            return word - (word >> 63 << 64)
        raw = self._blob(word)
        return fmt.decode_str(raw) if kt == KT_STR else raw

    def __getitem__(self, key: Any) -> Any:
        b = self._find(key)
        if b < 0:
            raise KeyError(key)
        if self._Q[b] & VT_BYTES:  # _value_of inlined: a tenth of the time of a get
            return self._blob(self._Q[b + 2])
        return self._q[b + 2]

    def get(self, key: Any, default: Any = None) -> Any:
        b = self._find(key)
        return default if b < 0 else self._value_of(self._Q[b], self._Q[b + 2])

    def __contains__(self, key: object) -> bool:
        try:
            return self._find(key) >= 0
        except TypeError:  # a type the map cannot hold is never in it (as `1.5 in dict`)
            return False

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        mutations = self._mutations
        tags, keys, _ = live_slots(self._B, self._w, self._cap)
        for t, k in zip(tags, keys, strict=True):
            if self._mutations != mutations:
                raise RuntimeError("MmapMap changed during iteration")
            yield self._key_of(t, k)

    # --- writes ------------------------------------------------------------------------------

    def __setitem__(self, key: Any, value: Any) -> None:
        if type(value) is int and INT64_MIN <= value <= INT64_MAX:
            vt = 0
        elif type(value) is bytes:
            vt = VT_BYTES
        else:
            check_value(self, value)  # raises, or the value is an int/bytes subclass
            value = int(value) if isinstance(value, int) else bytes(value)
            vt = VT_BYTES if isinstance(value, bytes) else 0
        if type(key) is int:
            if not INT64_MIN <= key <= INT64_MAX:
                check_key(self, key)
            h = ((key & M64) ^ self._seed) * GOLDEN & M64
            kt, raw = KT_INT, None
        elif type(key) is str or type(key) is bytes:
            kt, h, raw = self._blob_key(key)
        else:
            self[self._plain(key)] = value
            return
        b = self._slot_for(key, (h & TAG_MASK) | kt, h, raw)
        # Blobs first: if appending one fails (disk full), no slot has been touched yet.
        if vt:
            value = self._put_blob(value)
        if b < 0:  # a new key: b is the complement of the slot to insert at
            b = ~b
            if raw is not None:
                key = self._put_blob(raw)
            if self._Q[b] == TOMBSTONE:
                self._tomb -= 1
            self._count += 1
            self._mutations += 1
            (self._q if raw is None else self._Q)[b + 1] = key
        (self._Q if vt else self._q)[b + 2] = value
        self._Q[b] = (h & TAG_MASK) | kt | vt
        self._dirty.add((b - self._base) // BLOCK_WORDS)

    def _slot_for(self, key: Any, want: int, h: int, raw: bytes | None) -> int:
        """The slot holding the key, or ~slot where it is to be inserted (growing if needed)."""
        tags = self._Q
        base, stop = self._base, self._stop
        b = base + 3 * (h >> self._shift)
        free = -1
        while True:
            t = tags[b]
            if not t:
                break
            if t == TOMBSTONE:
                if free < 0:
                    free = b
            elif t & NOT_VT == want and (
                self._q[b + 1] == key if raw is None else self._blob_equals(tags[b + 1], raw)
            ):
                return b
            b += 3
            if b == stop:
                b = base
        if free >= 0:
            return ~free
        if self._count + self._tomb < self._limit:
            return ~b
        double = (self._count + 1) * 2 > self._limit
        self._rehash(self._cap * 2 if double else self._cap)
        return self._slot_for(key, want, h, raw)

    def _put_blob(self, data: bytes) -> int:
        """Append a checksummed blob past everything committed; returns its offset."""
        n = len(data)
        if n > fmt.MAX_BLOB:
            raise ValueError(f"{n}-byte key or value is longer than {fmt.MAX_BLOB} bytes")
        off = self._end
        end = (off + 15 + n) & ~7
        if end > self._size:
            self._grow_file(end)
        self._Q[off >> 3] = n | fmt.checksum(FORMAT_VERSION, KIND_BLOB, data, off, n) << 32
        self._B[off + 8 : off + 8 + n] = data
        self._end = end
        return off

    def __delitem__(self, key: Any) -> None:
        b = self._find(key)
        if b < 0:
            raise KeyError(key)
        tags, base, stop = self._Q, self._base, self._stop
        nxt = b + 3 if b + 3 < stop else base
        self._count -= 1
        self._mutations += 1
        if tags[nxt]:
            tags[b] = TOMBSTONE
            self._tomb += 1
            self._dirty.add((b - base) // BLOCK_WORDS)
            return
        # Followed by an empty slot, no probe sequence passes through b: it and the tombstones
        # right before it can become empty, so deletes do not pile up tombstones.
        while True:
            tags[b] = EMPTY
            self._dirty.add((b - base) // BLOCK_WORDS)
            b = b - 3 if b > base else stop - 3
            if tags[b] != TOMBSTONE:
                return
            self._tomb -= 1

    def clear(self) -> None:
        self._check_writable()
        self._count = self._tomb = 0
        self._mutations += 1
        self._rehash(fmt.MIN_CAPACITY, keep=False)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        # The mixin would do the same; spelled out so the loop does not go through `keys()`.
        for key, value in iter_update_items(other, **kwargs):
            self[key] = value

    def reserve(self, n: int) -> None:
        """Grow now so that `n` entries fit without another resize."""
        self._check_writable()
        cap = capacity_for(n, self._load_permille)
        if cap > self._cap:
            self._rehash(cap)

    def _check_writable(self) -> None:
        """Writers may write; `MmapReader` overrides this to refuse."""

    def _rehash(self, cap: int, keep: bool = True) -> None:
        """Move every live entry into a fresh pair of tables past the committed end.

        The committed table is not touched, so a crash here loses only unflushed work.
        """
        old_base, old_stop = self._base, self._stop
        cols = [self._Q[old_base + i : old_stop : 3].tolist() for i in range(3)] if keep else []
        extent = fmt.table_layout(cap)[1]
        pin(self._fd, self._w, UNPIN)  # abandoned: no header will name it
        working = fmt.round_up(self._end)
        self._end = working + 2 * extent
        if self._end > self._size:
            self._grow_file(self._end)
        tags, keys, values = [0] * cap, [0] * cap, [0] * cap
        shift, mask = 64 - cap.bit_length() + 1, cap - 1
        for t, k, v in zip(*cols, strict=True):
            if t & 3:
                i = t >> shift
                while tags[i]:
                    i = (i + 1) & mask
                tags[i], keys[i], values[i] = t, k, v
        base = working // 8
        for i, column in enumerate((tags, keys, values)):
            self._Q[base + i : base + 3 * cap : 3] = array("Q", column)
        if cap != self._cap:
            self._resizes += 1
        self._tomb = 0
        self._set_table(cap, working, working + extent)
        self._tables = [working, working + extent]
        pin(self._fd, working, EXCLUSIVE)
        self._dirty = set()
        self._full = True

    # --- durability --------------------------------------------------------------------------

    def compact(self) -> None:
        """Rewrite the live entries into a new file and atomically rename it over this one.

        Reclaims the space of dead tables and of overwritten or deleted blobs, and the free
        space past the committed end (the only way the file shrinks). A crash leaves either the
        old or the new file, both complete; readers follow the rename.
        """
        self._check_writable()
        self.flush()
        tmp = self._path + COMPACTING
        if os.path.lexists(tmp):
            os.unlink(tmp)  # a leftover of a failed compaction (we hold the writer lock)
        fresh = MmapMap._blank(tmp, self._seed, self._count)
        try:
            for t, k, v in zip(*live_slots(self._B, self._w, self._cap), strict=True):
                fresh[self._key_of(t, k)] = self._value_of(t, v)
            fresh.flush()
            fresh._seal()  # its exact size: nobody has mapped it yet
            os.rename(tmp, self._path)
        except BaseException:
            fresh._discard(tmp)
            raise
        self._Q[_SUPERSEDED] = 1
        self._bump()
        self._unmap()
        os.close(self._fd)
        temp, mutations = self._temp, self._mutations + 1
        fresh._path = self._path
        self.__dict__.update(fresh.__dict__)
        fresh._closed = True  # its resources now belong to self
        self._temp, self._mutations = temp, mutations
        fsync_dir(self._path)

    # --- statistics --------------------------------------------------------------------------

    def probe_stats(self) -> ProbeStats:
        """Exact hit and miss probe lengths of the current table (linear probing, slots)."""
        tags = slot_tags(self._B, self._w, self._cap)
        return probe_stats_of(tags, self._shift, self._tomb, self._resizes)

    def summary(self) -> Summary:
        """What the committed file holds: counts, live and dead bytes (flushes first)."""
        self.flush()
        return verify_tables(self._B, self._hdr, full=True)


MAPS = (
    MapInfo(
        "mmap",
        MmapMap,
        "persistent linear-probing table in a memory-mapped file (crash-safe, pure Python)",
    ),
)


from mapbench.impls._mmap_reader import MmapReader  # noqa: E402 - it subclasses MmapMap
