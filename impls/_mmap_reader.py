"""The read-only side of the mmap map: follows the writer's commits, never waits for it.

`MmapMap(path, writer=False)` returns one of these. A reader works on one snapshot, the newest
committed state when its last read began: it notes the commit counter, reads the committed
header, pins the header's table (a shared lock on its first byte, see `_mmap_storage.pin`) and
checks the counter again. An unchanged counter proves the pinned table is the committed one, and
the writer never writes a table a reader has pinned (it takes another, as LMDB keeps the pages
of live readers), so every read of the snapshot sees one committed state however fast the writer
commits: no torn reads, no retries, no giving up. A read that finds the counter moved first pins
the newer state; only pinning can collide with a commit, in a window of microseconds, and is
repeated until it succeeds.

Blobs below a committed `alloc_end` are never rewritten and the file never shrinks, so a
snapshot's blobs stay valid too. Files of format versions 1 and 2 were written by writers that
know no pins: reads of those are checked against the counter afterwards and retried, up to
`MmapReader.attempts` times (about half a second), then `MmapBusyError`.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import time
from collections.abc import Callable, ItemsView, Iterator, Mapping, ValuesView
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from mapbench.impls import _mmap_format as fmt
from mapbench.impls._mmap_check import (
    Summary,
    check_blobs,
    check_block_list,
    live_slots,
    probe_stats_of,
    scan_table,
    slot_tags,
    summarize,
)
from mapbench.impls._mmap_format import (
    PINNED_VERSION,
    Header,
    MmapBusyError,
    MmapForeignFileError,
    MmapFormatError,
)
from mapbench.impls._mmap_storage import SHARED, UNPIN, pin
from mapbench.impls.mmap_map import MmapMap, MmapReadOnlyError

from mapbench.errors import MapbenchError
from mapbench.protocol import ProbeStats

if TYPE_CHECKING:
    import numpy as np

_COUNTER = fmt.COUNTER_OFFSET // 8
_SUPERSEDED = fmt.SUPERSEDED_OFFSET // 8
BACKOFF_FIRST = 50e-6  # seconds slept after the second failed attempt, doubling ...
BACKOFF_MAX = 5e-3  # ... up to this: 0.46 s of sleep over 100 attempts
# What a read of a state being rewritten (an unpinned one, or a header being written) can
# raise besides a wrong answer: checks failing, offsets past the mapping, impossible lengths.
# In a pinned snapshot, or with the counter unchanged, they mean damage.
_TORN = (MmapFormatError, IndexError, ValueError)
T = TypeVar("T")


class MmapReader(MmapMap):
    """A read-only view of the last flushed state; follows later flushes of the writer.

    Every operation runs against one committed state, pinned so the writer leaves it alone,
    so a reader never returns a half-written state and never waits for the writer.
    `snapshot()`, `items()` and `values()` return one consistent state as a whole.
    """

    attempts: ClassVar[int] = 100  # tries of one read of a version 1/2 file (unpinned)
    _seen: int  # the commit counter when the current header was read (-1: none yet)
    _pin: int  # the offset of the table this reader has pinned (-1: none)
    _pinned: bool  # whether the pin keeps the current state intact (a version 3 file)

    def _open(self, create: bool | None, wait: bool, seed: int, verify: bool, cap: int) -> None:
        self._retries = 0
        self._attach()
        try:
            hdr, blobs = self._read(self._check_committed, verify)
            if blobs is not None:
                self._checked_blobs(hdr, blobs)
        except BaseException:
            self._release()
            raise

    def _attach(self) -> None:
        """Open and map the file at the path (a regular file, not empty)."""
        fd = os.open(self._path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block us
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), self._path)
            if not stat.S_ISREG(mode):
                raise MmapForeignFileError("not a regular file")
            self._fd = fd
            self._map(os.fstat(fd).st_size)
            if self._size < fmt.DATA_START:  # too short for the counter words: say why
                fmt.check_prefix(self._mm, self._size)
        except MmapFormatError as exc:
            self._unmap()
            os.close(fd)
            raise self._named(exc) from None
        except BaseException:
            self._unmap()
            os.close(fd)
            raise
        self._closed = False
        self._seen = self._pin = -1
        self._pinned = False

    def _access(self) -> int:
        return mmap.ACCESS_READ

    # --- the snapshot protocol ---------------------------------------------------------------

    def _read(self, op: Callable[..., T], *args: Any) -> T:
        """`op(*args)` run on the newest committed state (as of the start of this read)."""
        if self._Q[_COUNTER] == self._seen and self._pinned:  # the common case, in short
            try:
                return op(*args)
            except _TORN as exc:
                raise self._damaged(exc.with_traceback(None)) from None
        for attempt in range(self.attempts):
            if attempt > 1:
                time.sleep(min(BACKOFF_FIRST * 2 ** (attempt - 2), BACKOFF_MAX))
            if self._Q[_COUNTER] != self._seen:
                self._renew()
            failure: Exception | None = None
            try:
                result = op(*args)
            except _TORN as exc:
                failure = exc.with_traceback(None)  # no frames kept: they may view the mapping
            if self._pinned or self._Q[_COUNTER] == self._seen:
                if failure is None:
                    return result
                raise self._damaged(failure) from None
            self._retries += 1  # an unpinned state, rewritten during the read: read it again
        raise MmapBusyError(
            f"{self._path}: the writer committed during each of {self.attempts} attempts to "
            f"read one consistent state (a format version {self._hdr.version} file: its "
            f"writer does not keep pinned snapshots)"
        )

    def _renew(self) -> None:
        """Pin the newest committed state (following a compaction), however often that takes.

        An attempt fails only if the writer committed during it (a few microseconds).
        """
        attempt = 0
        while True:
            if self._Q[_SUPERSEDED]:
                self._follow()
            seen = self._Q[_COUNTER]
            try:
                if self._take(seen):
                    return
            except _TORN as exc:
                if self._Q[_COUNTER] == seen:
                    raise self._damaged(exc.with_traceback(None)) from None
            self._retries += 1
            attempt += 1
            if attempt > 1:
                time.sleep(min(BACKOFF_FIRST * 2 ** (attempt - 2), BACKOFF_MAX))

    def _take(self, seen: int) -> bool:
        """Pin the committed state as of counter `seen` (remapping if the file grew); False if
        the writer committed meanwhile."""
        hdr, _ = fmt.read_headers(self._mm, self._size)
        if hdr.alloc_end > self._size:
            size = os.fstat(self._fd).st_size
            if size > self._size:
                self._unmap()
                self._map(size)
        fmt.check_header(hdr, self._size)
        if hdr.table != self._pin:
            if not pin(self._fd, hdr.table, SHARED):
                return False  # the writer writes it: it is no longer the committed table
            if self._Q[_COUNTER] != seen:
                pin(self._fd, hdr.table, UNPIN)
                return False
            if self._pin >= 0:
                pin(self._fd, self._pin, UNPIN)
            self._pin = hdr.table
        elif self._Q[_COUNTER] != seen:
            return False
        self._hdr = hdr
        self._load(hdr, working=hdr.table)
        self._seen = seen
        self._pinned = hdr.version >= PINNED_VERSION  # whose writer respects the pin
        return True

    def _follow(self) -> None:
        """Move to the file compaction renamed into place (the old one stays mapped till now)."""
        self._unmap()
        os.close(self._fd)  # (which lets go of the pin)
        self._closed = True
        self._attach()

    def _damaged(self, failure: Exception) -> MapbenchError:
        """The error for a check that failed on a committed state: the file is damaged."""
        if isinstance(failure, MmapFormatError):
            return self._named(failure)
        return self._corrupt(f"damaged ({type(failure).__name__}: {failure})")

    @property
    def retries(self) -> int:
        """Snapshots taken again because the writer committed while one was being taken (and
        reads of an unpinned version 1/2 file repeated), since this was opened."""
        return self._retries

    # --- reads inside a snapshot (called through _read) -------------------------------------

    def _check_committed(self, full: bool) -> tuple[Header, np.ndarray | None]:
        if not full:
            check_block_list(self._B, self._hdr)
            return self._hdr, None
        return self._hdr, scan_table(self._B, self._hdr)

    def _slot_words(self, key: Any) -> tuple[int, int] | None:
        b = self._find(key)
        return None if b < 0 else (self._Q[b], self._Q[b + 2])

    def _live_slots(self) -> tuple[list[int], list[int], list[int]]:
        return live_slots(self._B, self._hdr.table, self._cap)

    def _slot_tags(self) -> list[int]:
        return slot_tags(self._B, self._hdr.table, self._cap)

    def _header(self) -> Header:
        return self._hdr

    # --- the mapping API ---------------------------------------------------------------------

    def _checked_blobs(self, hdr: Header, blobs: np.ndarray) -> list[tuple[int, int]]:
        """Blob checks after the snapshot: committed blobs are never rewritten."""
        try:
            return check_blobs(self._B, hdr, blobs)
        except MmapFormatError as exc:
            raise self._named(exc) from None

    def __getitem__(self, key: Any) -> Any:
        found = self._read(self._slot_words, key)
        if found is None:
            raise KeyError(key)
        return self._value_of(*found)

    def get(self, key: Any, default: Any = None) -> Any:
        found = self._read(self._slot_words, key)
        return default if found is None else self._value_of(*found)

    def __contains__(self, key: object) -> bool:
        try:
            return self._read(self._slot_words, key) is not None
        except TypeError:  # a type the map cannot hold is never in it (as `1.5 in dict`)
            return False

    def __len__(self) -> int:
        return self._read(self._header).count

    def __iter__(self) -> Iterator[Any]:
        tags, keys, _ = self._read(self._live_slots)
        return iter([self._key_of(t, k) for t, k in zip(tags, keys, strict=True)])

    def _state(self) -> dict[Any, Any]:
        tags, keys, values = self._read(self._live_slots)
        return {
            self._key_of(t, k): self._value_of(t, v)
            for t, k, v in zip(tags, keys, values, strict=True)
        }

    def snapshot(self) -> Mapping[Any, Any]:
        """The newest committed state, read-only: every entry from the same commit."""
        return MappingProxyType(self._state())

    def items(self) -> ItemsView[Any, Any]:
        return self._state().items()

    def values(self) -> ValuesView[Any]:
        return self._state().values()

    def probe_stats(self) -> ProbeStats:
        tags = self._read(self._slot_tags)
        hdr = self._hdr
        return probe_stats_of(tags, self._shift, hdr.tombstones, hdr.resizes)

    def summary(self) -> Summary:
        """Verify the newest committed state (every checksum) and describe it."""
        hdr, blobs = self._read(self._check_committed, True)
        assert blobs is not None
        return summarize(hdr, self._checked_blobs(hdr, blobs))

    def refresh(self) -> None:
        """Pick up the writer's latest flush now (reads do this by themselves)."""
        self._read(self._header)

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
