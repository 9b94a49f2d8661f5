"""The read-only side of the mmap map: follows the writer's commits without locks.

`MmapMap(path, writer=False)` returns one of these.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from mapbench.impls import _mmap_format as fmt
from mapbench.impls._mmap_check import Summary, verify_tables
from mapbench.impls.mmap_map import MmapMap, MmapReadOnlyError

from mapbench.protocol import ProbeStats

_COUNTER = fmt.COUNTER_OFFSET // 8
_SUPERSEDED = fmt.SUPERSEDED_OFFSET // 8
T = TypeVar("T")


class MmapReader(MmapMap):
    """A read-only view of the last flushed state; follows later flushes of the writer.

    Every operation runs against one committed table and is retried if the writer committed
    meanwhile (the commit counter moved), so a reader never returns a half-written state.
    """

    def _open(self, create: bool | None, wait: bool, seed: int, verify: bool, cap: int) -> None:
        self._fd = os.open(self._path, os.O_RDONLY)
        try:
            self._map(os.fstat(self._fd).st_size)
            self._seen = self._Q[_COUNTER] if self._size >= fmt.DATA_START else 0
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
