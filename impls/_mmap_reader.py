"""The read-only side of the mmap map: follows the writer's commits without locks.

`MmapMap(path, writer=False)` returns one of these. Every read runs inside one validated
snapshot, seqlock-style: note the commit counter, read the committed header and whatever the
operation needs from the committed table (a probe, or one copy of the table), and re-read the
counter. The writer moves the counter after writing a new header and before it touches any byte
the previous state depends on, so an unchanged counter proves the read saw one committed state;
a moved one (or a failure while it moved: a torn read) means "retry on the newer state".

Nothing read inside a snapshot is trusted before it is validated: probes are bounded by the
table, blob offsets and lengths by the snapshot's `alloc_end`, and blobs are decoded only after
validation. Blobs below a committed `alloc_end` are never rewritten and the file never shrinks,
so decoding after validation (outside the snapshot) is safe. A read that keeps colliding with
commits gives up after `MmapReader.attempts` tries (about half a second) with `MmapBusyError`.
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
    SLOT_BYTES,
    Header,
    MmapBusyError,
    MmapForeignFileError,
    MmapFormatError,
)
from mapbench.impls.mmap_map import MmapMap, MmapReadOnlyError

from mapbench.protocol import ProbeStats

if TYPE_CHECKING:
    import numpy as np

_COUNTER = fmt.COUNTER_OFFSET // 8
_SUPERSEDED = fmt.SUPERSEDED_OFFSET // 8
BACKOFF_FIRST = 50e-6  # seconds slept after the second failed attempt, doubling ...
BACKOFF_MAX = 5e-3  # ... up to this: 0.46 s of sleep over 100 attempts
# What a read of a state being rewritten can raise (besides a wrong answer): checks failing,
# offsets past the mapping, impossible lengths. With the counter unchanged they mean damage.
_TORN = (MmapFormatError, IndexError, ValueError)
T = TypeVar("T")


class MmapReader(MmapMap):
    """A read-only view of the last flushed state; follows later flushes of the writer.

    Every operation runs against one committed state and is retried if the writer committed
    meanwhile (the commit counter moved), so a reader never returns a half-written state.
    `snapshot()`, `items()` and `values()` return one consistent state as a whole.
    """

    attempts: ClassVar[int] = 100  # tries of one read before it gives up with MmapBusyError
    _seen: int  # the commit counter when the current header was read (-1: none yet)

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
        self._seen = -1

    def _access(self) -> int:
        return mmap.ACCESS_READ

    # --- the snapshot protocol ---------------------------------------------------------------

    def _read(self, op: Callable[..., T], *args: Any) -> T:
        """`op(*args)` run inside one validated snapshot of the newest committed state."""
        # The common case first: no commit since the last read, none during this one.
        seen = self._Q[_COUNTER]
        if seen == self._seen and not self._Q[_SUPERSEDED]:
            try:
                result = op(*args)
                failed = False
            except _TORN:
                failed = True  # torn, or damaged: the loop below tells which
            if self._Q[_COUNTER] != seen:
                self._retries += 1
            elif not failed:
                return result
        return self._read_again(op, *args)

    def _read_again(self, op: Callable[..., T], *args: Any) -> T:
        """`_read` after a commit: refresh the snapshot, retry torn reads, back off, give up."""
        started = time.monotonic()
        for attempt in range(self.attempts):
            if attempt > 1:
                time.sleep(min(BACKOFF_FIRST * 2 ** (attempt - 2), BACKOFF_MAX))
            if self._Q[_SUPERSEDED]:
                self._follow()
            seen = self._Q[_COUNTER]
            failure: Exception | None = None
            try:
                if seen != self._seen:
                    self._take(seen)
                result = op(*args)
            except _TORN as exc:
                failure = exc.with_traceback(None)  # no frames kept: they may view the mapping
            if self._Q[_COUNTER] != seen:
                self._retries += 1
                continue  # the writer committed meanwhile: whatever we read may be torn
            if failure is None:
                return result
            if isinstance(failure, MmapFormatError):
                raise self._named(failure) from None
            raise self._corrupt(f"damaged ({type(failure).__name__}: {failure})") from None
        raise MmapBusyError(
            f"{self._path}: the writer committed during each of {self.attempts} attempts to "
            f"read one consistent state ({time.monotonic() - started:.2f} s)"
        )

    def _take(self, seen: int) -> None:
        """Adopt the newest committed header (remapping if the file grew) as of counter `seen`."""
        hdr, _ = fmt.read_headers(self._mm, self._size)
        if hdr.alloc_end > self._size:
            size = os.fstat(self._fd).st_size
            if size > self._size:
                self._unmap()
                self._map(size)
        fmt.check_header(hdr, self._size)
        self._hdr = hdr
        self._load(hdr, working=hdr.table)
        self._seen = seen

    def _follow(self) -> None:
        """Move to the file compaction renamed into place (the old one stays mapped till now)."""
        self._unmap()
        os.close(self._fd)
        self._closed = True
        self._attach()

    @property
    def retries(self) -> int:
        """Reads repeated because the writer committed while they ran (since this was opened)."""
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

    def _copy_table(self) -> tuple[bytes, int]:
        """A private copy of the committed slots: the only part of a state that is rewritten."""
        table, cap = self._hdr.table, self._cap
        return self._B[table : table + cap * SLOT_BYTES].tobytes(), cap

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

    def _live(self) -> tuple[list[int], list[int], list[int]]:
        raw, cap = self._read(self._copy_table)
        return live_slots(raw, 0, cap)

    def __iter__(self) -> Iterator[Any]:
        tags, keys, _ = self._live()
        return iter([self._key_of(t, k) for t, k in zip(tags, keys, strict=True)])

    def _state(self) -> dict[Any, Any]:
        tags, keys, values = self._live()
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
        raw, cap = self._read(self._copy_table)
        hdr = self._hdr
        return probe_stats_of(slot_tags(raw, 0, cap), self._shift, hdr.tombstones, hdr.resizes)

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
