"""The file side of the mmap map: opening, locking, mapping, growing, and the commit protocol.

`flush()` commits: msync every page the new state needs, write a checksummed header into the
header copy not holding the current state, msync it, and only then (readers warned by the commit
counter) bring the other table copy up to date. Nothing committed is ever written in place.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import zlib
from typing import TypeVar

from mapbench.impls import _mmap_format as fmt
from mapbench.impls._mmap_check import verify_tables
from mapbench.impls._mmap_format import (
    DATA_START,
    HEADER_BYTES,
    HEADER_OFFSETS,
    M64,
    PAGE,
    Header,
    MmapTruncatedError,
)

from mapbench.errors import MapbenchError

_COUNTER = fmt.COUNTER_OFFSET // 8
T = TypeVar("T")


class MmapLockedError(MapbenchError):
    """Another process (or another map object) has the file open for writing."""


def capacity_for(n: int, load_permille: int = 750) -> int:
    """The smallest power-of-two capacity that holds `n` entries under the load limit."""
    cap = fmt.MIN_CAPACITY
    while n * 1000 > cap * load_permille:
        cap *= 2
    return cap


class Storage:
    """One map file held open: its mapping, the committed header and the working table."""

    _path: str
    _temp: bool
    _closed: bool

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


def _allocate(fd: int, start: int, end: int) -> None:
    """Give the file real blocks for [start, end): a full disk fails here, not as SIGBUS later."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, start, end - start)
    else:  # pragma: no cover - macOS
        os.ftruncate(fd, end)


def fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
