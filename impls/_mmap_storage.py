"""The file side of the mmap map: creating, opening, locking, mapping, growing, committing.

Creation is crash-safe: a new map is built in `FILE.creating`, synced, and hard-linked to its
path, so the path names either nothing or a complete map whatever moment a kill strikes.
`flush()` commits: msync every page the new state needs, write a checksummed header into the
header copy not holding the current state, msync it, and only then (readers warned by the commit
counter) bring a working copy of the table up to date. Nothing committed is ever written in place,
and the file never shrinks (a reader's mapping stays valid: no SIGBUS).

Table pins (format version 3): a reader holds a shared lock on the first byte of the table its
snapshot reads, the writer an exclusive lock on the table it writes. The writer never writes a
table it cannot lock exclusively: when a reader still reads the table the writer would reuse
next, it takes another table of the same size (one it made earlier, or a new one past the
committed end), as LMDB keeps pages a live reader needs. Locks are open-file-description locks
(`F_OFD_SETLK`, Linux), so every map object holds its own; released by the kernel on close or
death.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import struct
import time
from typing import TypeVar

from mapbench.impls import _mmap_format as fmt
from mapbench.impls._mmap_check import verify_tables
from mapbench.impls._mmap_format import (
    DATA_START,
    FORMAT_VERSION,
    HEADER_BYTES,
    HEADER_OFFSETS,
    M64,
    PAGE,
    Header,
    MmapTruncatedError,
)

from mapbench.errors import MapbenchError

_COUNTER = fmt.COUNTER_OFFSET // 8
CREATING = ".creating"  # suffix of the file a new map is built in
COMPACTING = ".compact"  # suffix of the file compaction builds
CLAIM_TIMEOUT = 10.0  # seconds to wait for another process creating the same map
T = TypeVar("T")
# Open-file-description locks where the system has them (Linux); elsewhere POSIX record locks,
# which a process holds as a whole: there a reader and the writer of one file must not share a
# process (docs/mmap.md).
_SETLK = getattr(fcntl, "F_OFD_SETLK", fcntl.F_SETLK)
_FLOCK = struct.Struct("hhqqi")  # struct flock: type, whence, start, length, pid (0)
SHARED, EXCLUSIVE, UNPIN = fcntl.F_RDLCK, fcntl.F_WRLCK, fcntl.F_UNLCK


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
    _tables: list[int]  # the offsets of the tables of the current size (one is committed)
    _end: int  # the allocated end: everything committed and written since lies below it

    # --- opening -----------------------------------------------------------------------------

    def _open(self, create: bool | None, wait: bool, seed: int, verify: bool, cap: int) -> None:
        cap = capacity_for(max(cap, 0))
        while True:
            fd = self._lock_existing(create, wait)
            if fd is None:  # absent: build it under a temporary name
                if create is False:
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), self._path)
                if self._create(seed, cap, replace=False):
                    return
                if create:
                    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), self._path)
                continue  # another process created it first: open theirs
            if os.fstat(fd).st_size == 0 and create:  # e.g. from mkstemp: replace it by a map
                try:
                    self._create(seed, cap, replace=True)
                finally:
                    os.close(fd)
                return
            break
        self._fd = fd
        self._closed = False
        try:
            self._map(os.fstat(fd).st_size)
            self._remove_leftovers()
            self._recover(verify)
        except BaseException:
            self._closed = True
            self._unmap()
            os.close(fd)
            raise

    def _lock_existing(self, create: bool | None, wait: bool) -> int | None:
        """A descriptor of the file at the path, locked for writing; None if there is none."""
        while True:
            try:
                fd = os.open(self._path, os.O_RDWR)
            except FileNotFoundError:
                return None
            try:
                if create is True and os.fstat(fd).st_size:
                    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), self._path)
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                raise MmapLockedError(
                    f"{self._path}: another writer has it open (pass wait=True to wait)"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            # Compaction replaces the file by renaming: a lock won on the old inode is stale.
            if _same_file(fd, self._path):
                return fd
            os.close(fd)

    def _create(self, seed: int, cap: int, replace: bool) -> bool:
        """Build an empty map in FILE.creating and put it in place; False if one appeared first.

        `replace` renames it over an empty file we hold locked; otherwise it is hard-linked, which
        fails if another process made the path meanwhile (then we open theirs).
        """
        tmp = self._path + CREATING
        fd = _claim(tmp, None if replace else self._path)
        if fd is None:
            return False
        self._fd = fd
        self._closed = False
        try:
            self._initialize(seed, cap)
            os.fsync(fd)
            if replace:
                os.rename(tmp, self._path)
            else:
                try:
                    os.link(tmp, self._path)
                except FileExistsError:
                    self._discard(tmp)
                    return False
                os.unlink(tmp)
            fsync_dir(self._path)
        except BaseException:
            self._discard(tmp)
            raise
        return True

    def _build(self, seed: int, cap: int) -> None:
        """Create a new empty map at the path itself, which must not exist (compaction's file)."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        self._closed = False
        try:
            self._initialize(seed, cap)
        except BaseException:
            self._discard(self._path)
            raise

    def _discard(self, name: str) -> None:
        """Drop a file this object was building: unlink it (still locked), unmap, close."""
        if os.path.lexists(name):
            os.unlink(name)
        self._closed = True
        self._unmap()
        os.close(self._fd)

    def _initialize(self, seed: int, cap: int) -> None:
        """Write an empty map: prefix, two tables, header generation 1."""
        extent = fmt.table_layout(cap)[1]
        end = DATA_START + 2 * extent
        self._allocate(0, end)
        self._map(end)
        self._mm[: fmt.PREFIX.size] = fmt.prefix_bytes()
        self._hdr = Header(0, seed, cap, 0, 0, 0, DATA_START, DATA_START + extent, end, 0)
        self._load(self._hdr, working=DATA_START + extent)
        self._tables = [DATA_START, DATA_START + extent]
        pin(self._fd, DATA_START + extent, EXCLUSIVE)
        self._full = True
        self.flush()

    def _remove_leftovers(self) -> None:
        """Remove what a killed compaction or creation left beside the file (we hold its lock)."""
        compacting = self._path + COMPACTING
        if os.path.lexists(compacting):  # no compaction runs while we hold the lock
            os.unlink(compacting)
        creating = self._path + CREATING
        if _same_file(self._fd, creating):  # killed between linking it into place and unlinking
            os.unlink(creating)
        else:
            _remove_abandoned(creating)

    def _recover(self, verify: bool) -> None:
        """Make the working table a copy of the committed one (whatever a crash left in it)."""
        hdr, older = fmt.read_headers(self._mm, self._size)
        fmt.check_header(hdr, self._size)
        verify_tables(self._B, hdr, full=verify)
        # Readers of any older state (a crash can leave one current) retry before we touch it.
        self._bump()
        if older is not None:  # a crash between writing a header and erasing the older one
            off = HEADER_OFFSETS[older.gen % 2]
            self._mm[off : off + HEADER_BYTES] = bytes(HEADER_BYTES)
        self._hdr = hdr
        self._load(hdr, working=hdr.spare)
        self._tables = [hdr.table, hdr.spare]
        working = self._next_working(hdr.table, hdr.spare)
        self._set_table(hdr.capacity, working, hdr.table)
        extent = fmt.table_layout(hdr.capacity)[1]
        self._B[working : working + extent] = self._B[hdr.table : hdr.table + extent]

    def _next_working(self, committed: int, prefer: int) -> int:
        """A table to write the next state in, pinned exclusively: `prefer` unless a reader's
        snapshot still reads it, else another of this size that none reads, else a new one."""
        for table in (prefer, *self._tables):
            if table != committed and pin(self._fd, table, EXCLUSIVE):
                return table
        table = fmt.round_up(self._end)
        self._end = table + fmt.table_layout(self._cap)[1]
        if self._end > self._size:
            self._grow_file(self._end)
        pin(self._fd, table, EXCLUSIVE)
        self._tables.append(table)
        return table

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

    # --- the mapping -------------------------------------------------------------------------

    def _map(self, size: int) -> None:
        if size == 0:
            raise MmapTruncatedError("file is empty (0 bytes; create=True makes it a new map)")
        try:
            self._mm = mmap.mmap(self._fd, size, access=self._access())
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, self._path) from None
        self._size = size
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

    def _allocate(self, start: int, end: int) -> None:
        """Give the file real blocks for [start, end): a full disk fails here, not as SIGBUS."""
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(self._fd, start, end - start)
            else:  # pragma: no cover - macOS
                os.ftruncate(self._fd, end)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, self._path) from None

    def _grow_file(self, need: int) -> None:
        size = fmt.round_up(max(need, self._size + self._size // 2))
        self._allocate(self._size, size)
        self._unmap()
        self._map(size)

    def _seal(self) -> None:
        """Cut the file to its committed end and sync it: only before anyone else can map it."""
        end = self._hdr.alloc_end
        if end < self._size:
            self._unmap()
            os.ftruncate(self._fd, end)
            self._map(end)
        os.fsync(self._fd)

    def _bump(self) -> None:
        """Move the commit counter: readers of the state before it retry on the newer one."""
        self._Q[_COUNTER] = (self._Q[_COUNTER] + 1) & M64

    # --- committing --------------------------------------------------------------------------

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
            a = w + j * fmt.BLOCK_BYTES
            crc = fmt.checksum(
                FORMAT_VERSION,
                fmt.KIND_BLOCK,
                view[a : min(a + fmt.BLOCK_BYTES, slots_end)],
                cap,
                j,
            )
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
            table_crc=fmt.checksum(
                FORMAT_VERSION, fmt.KIND_BLOCK_LIST, view[crcs[0] : crcs[1]], cap
            ),
        )
        self._mm.flush()  # everything the new header points at is on disk before the header
        # Complete: readers may pin it once the header commits it (a reader that pins it
        # earlier, through an older header, sees the counter move and lets go).
        pin(self._fd, w, UNPIN)
        slot, older = HEADER_OFFSETS[hdr.gen % 2], HEADER_OFFSETS[(hdr.gen + 1) % 2]
        self._mm[slot : slot + HEADER_BYTES] = hdr.pack()
        self._mm.flush(slot - slot % mmap.ALLOCATIONGRANULARITY, PAGE)
        # Committed. Readers that have not pinned the old table move on once the counter moves;
        # then the old table becomes the working copy again and is brought up to date, unless a
        # reader's snapshot still reads it: then another table is.
        self._bump()
        self._mm[older : older + HEADER_BYTES] = bytes(HEADER_BYTES)
        nxt = self._next_working(w, s)
        view = self._B  # (a new table may have grown the file)
        if self._full or nxt != s:
            view[nxt : nxt + extent] = view[w : w + extent]
        else:
            for j in blocks:
                a = j * fmt.BLOCK_BYTES
                b = min(a + fmt.BLOCK_BYTES, cap * fmt.SLOT_BYTES)
                view[s + a : s + b] = view[w + a : w + b]
            view[s + crc_at : s + crc_at + crcs[1] - crcs[0]] = view[crcs[0] : crcs[1]]
        self._hdr = hdr
        self._set_table(cap, nxt, w)
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
        # No truncation to the committed end: a reader may map the file past it (SIGBUS).
        self._closed = True
        self._unmap()
        try:
            os.close(self._fd)
        finally:
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


def pin(fd: int, table: int, kind: int) -> bool:
    """Lock (SHARED, EXCLUSIVE) or unlock (UNPIN) the table at offset `table`, without waiting;
    whether the lock was granted (False: another map object holds a conflicting one)."""
    try:
        fcntl.fcntl(fd, _SETLK, _FLOCK.pack(kind, os.SEEK_SET, table, 1, 0))
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _same_file(fd: int, path: str) -> bool:
    """Whether `path` still names the file open as `fd`."""
    try:
        there = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _claim(tmp: str, absent: str | None) -> int | None:
    """Create `tmp` exclusively and lock it; None as soon as the path `absent` exists.

    A leftover `tmp` whose creator died (its lock is free) is removed; one whose creator is
    alive is waited for, up to CLAIM_TIMEOUT.
    """
    deadline = time.monotonic() + CLAIM_TIMEOUT
    while True:
        if absent is not None and os.path.lexists(absent):
            return None
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if not _remove_abandoned(tmp):
                if time.monotonic() > deadline:
                    raise MmapLockedError(
                        f"{tmp}: another process has been creating this map for "
                        f"{CLAIM_TIMEOUT:.0f} s"
                    ) from None
                time.sleep(0.001)
            continue
        # Another process may remove a file it finds unlocked in the moment before we lock it.
        if _try_lock(fd) and _same_file(fd, tmp):
            return fd
        os.close(fd)


def _remove_abandoned(tmp: str) -> bool:
    """Unlink `tmp` if no live process holds its lock; whether it is gone."""
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        if not _try_lock(fd):
            return False
        if _same_file(fd, tmp):
            os.unlink(tmp)
        return True
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
