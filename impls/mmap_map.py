"""A persistent hash map in a memory-mapped file that survives SIGKILL and rejects damaged files.

Crash safety comes from never modifying committed state in place (see docs/mmap.md):
every table exists twice, the writer changes only the working copy and appends blobs past the
committed end, and `flush()` commits by msync-ing the data, then writing a checksummed header
(alternating between two header copies), and only then bringing the other copy up to date.
Readers in other processes read the committed copy and retry when the commit counter moves.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import tempfile
import zlib
from array import array
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, ClassVar, TypeVar

from mapbench.impls import _mmap_format as fmt
from mapbench.impls._mmap_check import Summary, live_ranges, probe_stats_of, verify_tables
from mapbench.impls._mmap_format import (
    BLOCK_WORDS,
    DATA_START,
    EMPTY,
    GOLDEN,
    HEADER_BYTES,
    HEADER_OFFSETS,
    KT_BYTES,
    KT_INT,
    KT_STR,
    M64,
    PAGE,
    TAG_MASK,
    TOMBSTONE,
    VT_BYTES,
    Header,
    MmapCorruptError,
    MmapForeignFileError,
    MmapFormatError,
    MmapTruncatedError,
    MmapVersionError,
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
    "MmapCorruptError",
    "MmapForeignFileError",
    "MmapFormatError",
    "MmapLockedError",
    "MmapMap",
    "MmapReadOnlyError",
    "MmapTruncatedError",
    "MmapVersionError",
    "Summary",
    "live_ranges",
]

NOT_VT = M64 ^ VT_BYTES  # a live tag without its value-type bit
LEN_MASK = 0xFFFFFFFF
_COUNTER = fmt.COUNTER_OFFSET // 8
_SUPERSEDED = fmt.SUPERSEDED_OFFSET // 8
T = TypeVar("T")


class MmapLockedError(MapbenchError):
    """Another process (or another map object) has the file open for writing."""


class MmapReadOnlyError(MapbenchError):
    """A write through a map opened with `writer=False`."""


def capacity_for(n: int, load_permille: int = 750) -> int:
    """The smallest power-of-two capacity that holds `n` entries under the load limit."""
    cap = fmt.MIN_CAPACITY
    while n * 1000 > cap * load_permille:
        cap *= 2
    return cap


class MmapMap(MutableMapping[Any, Any]):
    """Open addressing (linear probing) in a memory-mapped file; int64/str/bytes keys.

    Values are int64 or bytes. `path=None` makes a temporary file removed on close. `create`:
    None opens or creates, True creates a new file, False requires an existing one. One
    writer per file (a second gets `MmapLockedError`, or waits with `wait=True`); any number
    of readers (`writer=False`) see the last flushed state. `verify=True` checks every
    checksum on open (one pass over the file); False checks the headers only.
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
            path, create = name, None
        self._path = os.fspath(path)
        self._mutations = 0
        if not writer:
            self.__class__ = MmapReader
        try:
            self._open(create, wait, seed, verify, capacity)
        except MmapFormatError as exc:
            self._forget_temp()
            raise type(exc)(f"{self._path}: {exc}") from None
        except BaseException:
            self._forget_temp()
            raise

    def _forget_temp(self) -> None:
        if self._temp:
            os.unlink(self._path)

    # --- opening -----------------------------------------------------------------------------

    def _open(self, create: bool | None, wait: bool, seed: int, verify: bool, cap: int) -> None:
        flags = os.O_RDWR | (os.O_CREAT if create is not False else 0)
        flags |= os.O_EXCL if create is True else 0
        while True:
            fd = os.open(self._path, flags, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                raise MmapLockedError(
                    f"{self._path}: another writer has it open (pass wait=True to wait)"
                ) from None
            # Compaction replaces the file by renaming: a lock won on the old inode is stale.
            if os.fstat(fd).st_ino == os.stat(self._path).st_ino:
                break
            os.close(fd)
        self._fd = fd
        self._closed = False
        try:
            if os.fstat(fd).st_size == 0 and create is not False:
                self._initialize(seed, capacity_for(max(cap, 0)))
            else:
                self._map(os.fstat(fd).st_size)
                self._recover(verify)
        except BaseException:
            self._closed = True
            self._unmap()
            os.close(fd)
            raise

    def _initialize(self, seed: int, cap: int) -> None:
        """Write an empty map: prefix, two tables, header generation 1."""
        extent = fmt.table_layout(cap)[1]
        end = DATA_START + 2 * extent
        _allocate(self._fd, 0, end)
        self._map(end)
        self._mm[: fmt.PREFIX.size] = fmt.prefix_bytes()
        self._hdr = Header(0, seed, cap, 0, 0, 0, DATA_START, DATA_START + extent, end, 0)
        self._load(self._hdr, working=DATA_START + extent)
        self._full = True
        self.flush()

    def _recover(self, verify: bool) -> None:
        """Make the working table a copy of the committed one (whatever a crash left in it)."""
        hdr, older = fmt.read_headers(self._mm, self._size)
        verify_tables(self._B, hdr, full=verify)
        if older is not None:  # a crash between writing a header and erasing the older one
            off = HEADER_OFFSETS[older.gen % 2]
            self._mm[off : off + HEADER_BYTES] = bytes(HEADER_BYTES)
        self._hdr = hdr
        self._load(hdr, working=hdr.spare)
        extent = fmt.table_layout(hdr.capacity)[1]
        self._B[hdr.spare : hdr.spare + extent] = self._B[hdr.table : hdr.table + extent]

    def _load(self, hdr: Header, working: int) -> None:
        """Take the counts and geometry of `hdr`, working in the table at offset `working`."""
        self._seed = hdr.seed
        self._count = hdr.count
        self._tomb = hdr.tombstones
        self._resizes = hdr.resizes
        self._load_permille = hdr.max_load_permille
        self._end = hdr.alloc_end
        self._dirty: set[int] = set()
        self._full = False
        self._set_table(hdr.capacity, working, hdr.table)

    def _set_table(self, cap: int, working: int, spare: int) -> None:
        self._cap = cap
        self._shift = 64 - cap.bit_length() + 1
        self._limit = cap * self._load_permille // 1000
        self._w, self._s = working, spare
        self._base = working // 8
        self._stop = self._base + 3 * cap

    def _map(self, size: int) -> None:
        if size == 0:
            raise MmapTruncatedError("file is empty")
        self._size = size
        self._mm = mmap.mmap(self._fd, size, access=self._access())
        whole = memoryview(self._mm)
        self._B = whole
        # Casting needs a multiple of 8 bytes; a damaged file's odd tail is never read as words.
        self._Q = whole[: size - size % 8].cast("Q")
        self._q = whole[: size - size % 8].cast("q")

    def _access(self) -> int:
        return mmap.ACCESS_WRITE

    def _unmap(self) -> None:
        for name in ("_Q", "_q", "_B"):
            view = self.__dict__.pop(name, None)
            if view is not None:
                view.release()
        mm = self.__dict__.pop("_mm", None)
        if mm is not None:
            mm.close()

    def _grow_file(self, need: int) -> None:
        size = fmt.round_up(max(need, self._size + self._size // 2))
        _allocate(self._fd, self._size, size)
        self._unmap()
        self._map(size)

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
        """The word index of `key`'s slot, or -1 if absent."""
        if type(key) is int:
            h = ((key & M64) ^ self._seed) * GOLDEN & M64
            want = (h & TAG_MASK) | KT_INT
            raw = None
        elif type(key) is str or type(key) is bytes:
            kt, h, raw = self._blob_key(key)
            want = (h & TAG_MASK) | kt
        else:
            return self._find(self._plain(key))
        tags = self._Q
        base, stop = self._base, self._stop
        b = base + 3 * (h >> self._shift)
        while True:
            t = tags[b]
            if not t:
                return -1
            if t & NOT_VT == want:
                if raw is None:
                    if self._q[b + 1] == key:
                        return b
                elif self._blob_equals(tags[b + 1], raw):
                    return b
            b += 3
            if b == stop:
                b = base

    def _blob_key(self, key: str | bytes) -> tuple[int, int, bytes]:
        """(key type, hash, bytes) of a plain str or bytes key."""
        if type(key) is str:
            raw = fmt.encode_str(key)
            return KT_STR, fmt.hash_blob(raw, self._seed), raw
        return KT_BYTES, fmt.hash_blob(key, self._seed), key  # type: ignore[arg-type]

    def _plain(self, key: Any) -> Any:
        """`key` as a plain int/str/bytes (for subclasses), or the TypeError naming the types."""
        check_key(self, key)
        for plain in (int, str, bytes):
            if isinstance(key, plain):
                return plain(key)
        raise AssertionError("check_key accepted a key of no supported type")

    def _blob_equals(self, off: int, raw: bytes) -> bool:
        n = len(raw)
        return self._Q[off >> 3] & LEN_MASK == n and self._B[off + 8 : off + 8 + n] == raw

    def _blob(self, off: int) -> bytes:
        n = self._Q[off >> 3] & LEN_MASK
        return self._mm[off + 8 : off + 8 + n]

    def _value_at(self, b: int) -> Any:
        if self._Q[b] & VT_BYTES:
            return self._blob(self._Q[b + 2])
        return self._q[b + 2]

    def _key_at(self, b: int) -> Any:
        kt = self._Q[b] & 3
        if kt == KT_INT:
            return self._q[b + 1]
        raw = self._blob(self._Q[b + 1])
        return fmt.decode_str(raw) if kt == KT_STR else raw

    def __getitem__(self, key: Any) -> Any:
        b = self._find(key)
        if b < 0:
            raise KeyError(key)
        return self._value_at(b)

    def get(self, key: Any, default: Any = None) -> Any:
        b = self._find(key)
        return default if b < 0 else self._value_at(b)

    def __contains__(self, key: object) -> bool:
        try:
            return self._find(key) >= 0
        except TypeError:  # a type the map cannot hold is never in it (as `1.5 in dict`)
            return False

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        mutations = self._mutations
        for b in self._live_slots():
            if self._mutations != mutations:
                raise RuntimeError("MmapMap changed during iteration")
            yield self._key_at(b)

    def _live_slots(self) -> list[int]:
        base = self._base
        tags = self._Q[base : self._stop : 3].tolist()
        return [base + 3 * i for i, t in enumerate(tags) if t & 3]

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
        self._Q[off >> 3] = n | zlib.crc32(data) << 32
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
        self._dirty = set()
        self._full = True

    # --- durability --------------------------------------------------------------------------

    def flush(self) -> None:
        """Commit: after this returns, a crash of this process or the machine loses nothing."""
        if self._closed:
            raise ValueError("flush on a closed MmapMap")
        if not (self._dirty or self._full):
            return
        cap, w, s = self._cap, self._w, self._s
        crc_at, extent = fmt.table_layout(cap)
        blocks = range(fmt.block_count(cap)) if self._full else sorted(self._dirty)
        view = self._B
        slots_end = w + cap * fmt.SLOT_BYTES
        for j in blocks:
            start = w + j * fmt.BLOCK_SLOTS * fmt.SLOT_BYTES
            crc = zlib.crc32(view[start : min(start + fmt.BLOCK_SLOTS * fmt.SLOT_BYTES, slots_end)])
            view[w + crc_at + 4 * j : w + crc_at + 4 * j + 4] = crc.to_bytes(4, "little")
        crcs = w + crc_at, w + crc_at + 4 * fmt.block_count(cap)
        hdr = self._hdr.next(
            capacity=cap,
            count=self._count,
            tombstones=self._tomb,
            resizes=self._resizes,
            table=w,
            spare=s,
            alloc_end=self._end,
            table_crc=zlib.crc32(view[crcs[0] : crcs[1]]),
        )
        self._mm.flush()  # everything the new header points at is on disk before the header
        slot, older = HEADER_OFFSETS[hdr.gen % 2], HEADER_OFFSETS[(hdr.gen + 1) % 2]
        self._mm[slot : slot + HEADER_BYTES] = hdr.pack()
        self._mm.flush(slot - slot % mmap.ALLOCATIONGRANULARITY, PAGE)
        # Committed. Readers of the old table retry once the counter moves; then the old
        # table becomes the working copy again and is brought up to date.
        self._Q[_COUNTER] = (self._Q[_COUNTER] + 1) & M64
        self._mm[older : older + HEADER_BYTES] = bytes(HEADER_BYTES)
        if self._full:
            view[s : s + extent] = view[w : w + extent]
        else:
            block_bytes = fmt.BLOCK_SLOTS * fmt.SLOT_BYTES
            for j in blocks:
                a = j * block_bytes
                b = min(a + block_bytes, cap * fmt.SLOT_BYTES)
                view[s + a : s + b] = view[w + a : w + b]
            view[s + crc_at : s + crc_at + crcs[1] - crcs[0]] = view[crcs[0] : crcs[1]]
        self._hdr = hdr
        self._set_table(cap, s, w)
        self._dirty = set()
        self._full = False

    def compact(self) -> None:
        """Rewrite the live entries into a new file and atomically rename it over this one.

        Reclaims the space of dead tables and of overwritten or deleted blobs. A crash leaves
        either the old or the new file, both complete; readers follow the rename.
        """
        self._check_writable()
        self.flush()
        tmp = self._path + ".compact"
        if os.path.exists(tmp):
            os.unlink(tmp)  # a leftover of a crashed compaction (we hold the writer lock)
        fresh = MmapMap(tmp, create=True, seed=self._seed, capacity=self._count)
        try:
            for b in self._live_slots():
                fresh[self._key_at(b)] = self._value_at(b)
            fresh.flush()
            os.rename(tmp, self._path)
            _fsync_dir(self._path)
        except BaseException:
            fresh.close()
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self._Q[_SUPERSEDED] = 1
        self._Q[_COUNTER] = (self._Q[_COUNTER] + 1) & M64
        self._unmap()
        os.close(self._fd)
        temp, mutations = self._temp, self._mutations + 1
        fresh._path = self._path
        self.__dict__.update(fresh.__dict__)
        fresh._closed = True  # its resources now belong to self
        self._temp, self._mutations = temp, mutations

    def close(self) -> None:
        """Flush, release the file and the lock; a temporary map's file is removed."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._release()

    def _release(self) -> None:
        self._closed = True
        end = self._hdr.alloc_end
        self._unmap()
        try:
            if self._access() == mmap.ACCESS_WRITE and os.fstat(self._fd).st_size > end:
                os.ftruncate(self._fd, end)  # readers never read past a committed alloc_end
        finally:
            os.close(self._fd)
            if self._temp:
                os.unlink(self._path)

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Unmapping and unlocking only: committing from a finalizer could run at any time.
        if not getattr(self, "_closed", True):
            self._release()

    # --- statistics --------------------------------------------------------------------------

    def probe_stats(self) -> ProbeStats:
        """Exact hit and miss probe lengths of the current table (linear probing, slots)."""
        tags = self._Q[self._base : self._stop : 3].tolist()
        return probe_stats_of(tags, self._shift, self._tomb, self._resizes)

    def summary(self) -> Summary:
        """What the committed file holds: counts, live and dead bytes (flushes first)."""
        self.flush()
        return verify_tables(self._B, self._hdr, full=True)


class MmapReader(MmapMap):
    """A read-only view of the last flushed state; follows later flushes of the writer.

    Every operation runs against one committed table and is retried if the writer committed
    meanwhile (the commit counter moved), so a reader never returns a half-written state.
    """

    def _open(self, create: bool | None, wait: bool, seed: int, verify: bool, cap: int) -> None:
        self._fd = os.open(self._path, os.O_RDONLY)
        try:
            self._map(os.fstat(self._fd).st_size)
            self._seen = self._Q[_COUNTER] if self._size >= DATA_START else 0
            hdr, _ = fmt.read_headers(self._mm, self._size)
            verify_tables(self._B, hdr, full=verify)
            self._hdr = hdr
            self._load(hdr, working=hdr.table)
        except BaseException:
            self._unmap()
            os.close(self._fd)
            raise
        self._closed = False

    def _access(self) -> int:
        return mmap.ACCESS_READ

    def _reload(self) -> None:
        """Move to the newest committed state (and to a new file after compaction)."""
        seen = self._Q[_COUNTER]
        if self._Q[_SUPERSEDED]:
            self._unmap()
            os.close(self._fd)
            self._closed = True
            self._open(None, False, 0, False, 0)
            return
        size = os.fstat(self._fd).st_size
        if size != self._size:
            self._unmap()
            self._map(size)
        hdr, _ = fmt.read_headers(self._mm, self._size)
        self._hdr = hdr
        self._load(hdr, working=hdr.table)
        self._seen = seen

    def _consistent(self, op: Callable[[], T]) -> T:
        while True:
            seen = self._seen
            if self._Q[_COUNTER] != seen:
                self._reload()
                continue
            try:
                result = op()
            except Exception:
                if self._Q[_COUNTER] != seen:
                    continue  # a torn read during a commit: try again on the new state
                raise
            if self._Q[_COUNTER] == seen:
                return result

    def __getitem__(self, key: Any) -> Any:
        return self._consistent(lambda: MmapMap.__getitem__(self, key))

    def get(self, key: Any, default: Any = None) -> Any:
        return self._consistent(lambda: MmapMap.get(self, key, default))

    def __contains__(self, key: object) -> bool:
        return self._consistent(lambda: MmapMap.__contains__(self, key))

    def __len__(self) -> int:
        return self._consistent(lambda: self._count)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._consistent(lambda: [self._key_at(b) for b in self._live_slots()]))

    def probe_stats(self) -> ProbeStats:
        return self._consistent(lambda: MmapMap.probe_stats(self))

    def summary(self) -> Summary:
        return self._consistent(lambda: verify_tables(self._B, self._hdr, full=True))

    def refresh(self) -> None:
        """Pick up the writer's latest flush now (reads do this by themselves)."""
        self._consistent(lambda: None)

    def flush(self) -> None:
        """Nothing to write: a reader only follows the writer's flushes."""

    def close(self) -> None:
        if not self._closed:
            self._release()

    def _check_writable(self) -> None:
        raise MmapReadOnlyError(f"{self._path}: opened read-only (writer=False)")

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_writable()

    def __delitem__(self, key: Any) -> None:
        self._check_writable()

    def compact(self) -> None:
        self._check_writable()


def _allocate(fd: int, start: int, end: int) -> None:
    """Give the file real blocks for [start, end): a full disk fails here, not as SIGBUS later."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, start, end - start)
    else:  # pragma: no cover - macOS
        os.ftruncate(fd, end)


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_map(
    path: str | None = None,
    create: bool | None = None,
    writer: bool = True,
    wait: bool = False,
    seed: int = 0,
    verify: bool = True,
    capacity: int = fmt.MIN_CAPACITY,
) -> MmapMap:
    """Open or create an mmap map (the registry's factory; see `MmapMap` for the options)."""
    return MmapMap(
        path, create=create, writer=writer, wait=wait, seed=seed, verify=verify, capacity=capacity
    )


MAPS = (
    MapInfo(
        "mmap",
        open_map,
        "persistent linear-probing table in a memory-mapped file (crash-safe, pure Python)",
    ),
)
