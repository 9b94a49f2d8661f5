"""Reading a committed mmap-map table whole: verification, live slots, live byte ranges, stats.

Used on open (verify), by `mapbench mmap-check`, by iteration and the probe statistics, and by the
damage tests. Whole-table passes are vectorised with numpy, so verifying a 1M-key table costs
one CRC-32 pass over its bytes plus a few array operations, not a Python loop over its slots.
numpy is imported when first needed, not with the module: loading the map registry must not pull
it in (it adds start-up time to every command, and noise to the ci command's valgrind counts).

Verification has two halves so that a reader can run the first inside one validated snapshot
(`scan_table`: the table may be rewritten by the writer's next commit) and the second after it
(`check_blobs`: blobs are never rewritten once committed, so their offsets, once validated, can
be followed at leisure).
"""

from __future__ import annotations

import sys
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mapbench.impls._mmap_format import (
    BLOCK_BYTES,
    DATA_START,
    HEADER_BYTES,
    HEADER_OFFSETS,
    KIND_BLOB,
    KIND_BLOCK,
    KIND_BLOCK_LIST,
    LEN_MASK,
    PREFIX,
    SLOT_BYTES,
    TOMBSTONE,
    VT_BYTES,
    Buffer,
    Header,
    MmapCorruptError,
    block_count,
    checksum,
    table_layout,
)

from mapbench.protocol import ProbeStats

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Summary:
    """What a committed file holds; `dead_bytes` is what `compact()` would reclaim."""

    generation: int
    capacity: int
    count: int
    tombstones: int
    resizes: int
    seed: int
    file_bytes: int
    table_bytes: int
    live_blob_bytes: int
    dead_bytes: int


def _slots(buf: Buffer, offset: int, capacity: int) -> np.ndarray:
    """The table's slot words as a (capacity, 3) uint64 array viewing `buf` (not a copy)."""
    import numpy as np

    return np.frombuffer(buf, dtype="<u8", count=3 * capacity, offset=offset).reshape(-1, 3)


def live_slots(buf: Buffer, offset: int, capacity: int) -> tuple[list[int], list[int], list[int]]:
    """(tags, key words, value words) of the live slots of the table at `offset`, as lists."""
    words = _slots(buf, offset, capacity)
    live = words[words[:, 0] & 3 != 0]
    return live[:, 0].tolist(), live[:, 1].tolist(), live[:, 2].tolist()


def slot_tags(buf: Buffer, offset: int, capacity: int) -> list[int]:
    """Every slot's tag word of the table at `offset` (for probe statistics)."""
    tags: list[int] = _slots(buf, offset, capacity)[:, 0].tolist()
    return tags


def _census(buf: Buffer, hdr: Header) -> tuple[int, int, int, np.ndarray]:
    """(live, tombstones, impossible tags, sorted offsets of referenced blobs) of the table.

    Returns plain results and holds no view of `buf` afterwards (a view would keep the mapping
    from being closed), so callers raise only after it returns.
    """
    import numpy as np

    words = _slots(buf, hdr.table, hdr.capacity)
    tags = words[:, 0]
    live = tags & 3 != 0
    n_live = int(np.count_nonzero(live))
    n_tomb = int(np.count_nonzero(tags == TOMBSTONE))
    bad = hdr.capacity - n_live - n_tomb - int(np.count_nonzero(tags == 0))
    key_blobs = words[tags & 2 != 0, 1]  # bytes (2) and str (3) keys; 0 and 4 have bit 1 clear
    value_blobs = words[live & (tags & VT_BYTES != 0), 2]
    blobs = np.sort(np.concatenate((key_blobs, value_blobs)))
    return n_live, n_tomb, bad, blobs


def check_block_list(buf: Buffer, hdr: Header) -> None:
    """Raise unless the table's block checksums match the header (constant-size work)."""
    # No local views of `buf` here or below: a traceback holding one would keep a map open.
    at = hdr.table + table_layout(hdr.capacity)[0]
    end = at + 4 * block_count(hdr.capacity)
    if checksum(hdr.version, KIND_BLOCK_LIST, buf[at:end], hdr.capacity) != hdr.table_crc:
        raise MmapCorruptError("the table's block checksums do not match the header")


def scan_table(buf: Buffer, hdr: Header) -> np.ndarray:
    """Check every block checksum, tag and count; the offsets of the blobs the table uses."""
    check_block_list(buf, hdr)
    cap, table = hdr.capacity, hdr.table
    crc_at = table + table_layout(cap)[0]
    stored = array("I", bytes(buf[crc_at : crc_at + 4 * block_count(cap)]))
    if sys.byteorder == "big":  # pragma: no cover - the format is little-endian
        stored.byteswap()
    slots_end = table + cap * SLOT_BYTES
    for j, crc in enumerate(stored):
        a = table + j * BLOCK_BYTES
        b = min(a + BLOCK_BYTES, slots_end)
        if checksum(hdr.version, KIND_BLOCK, buf[a:b], cap, j) != crc:
            raise MmapCorruptError(f"table block {j} fails its checksum")
    live, tombstones, bad, blobs = _census(buf, hdr)
    if bad:
        raise MmapCorruptError(f"{bad} slots hold impossible tags")
    if (live, tombstones) != (hdr.count, hdr.tombstones):
        raise MmapCorruptError(
            f"table holds {live} keys and {tombstones} tombstones; header says "
            f"{hdr.count} and {hdr.tombstones}"
        )
    return blobs


def check_blobs(buf: Buffer, hdr: Header, offsets: np.ndarray) -> list[tuple[int, int]]:
    """(offset, end) of each blob at `offsets`, each checked against its bounds and checksum."""
    ranges = []
    end_of_data = hdr.alloc_end
    for off in offsets.tolist():
        if off % 8 or off < DATA_START or off + 8 > end_of_data:
            raise MmapCorruptError(f"blob offset {off} outside the allocated area")
        word = int.from_bytes(buf[off : off + 8], "little")
        n = word & LEN_MASK
        end = off + 8 + n
        if end > end_of_data:
            raise MmapCorruptError(f"blob at offset {off} runs past the allocated area")
        if checksum(hdr.version, KIND_BLOB, buf[off + 8 : end], off, n) != word >> 32:
            raise MmapCorruptError(f"blob at offset {off} fails its checksum")
        ranges.append((off, end))
    return ranges


def summarize(hdr: Header, blob_ranges: list[tuple[int, int]] | None) -> Summary:
    """The summary of a committed state (byte counts -1 if its blobs were not checked)."""
    extent = table_layout(hdr.capacity)[1]
    blob_bytes = dead = -1
    if blob_ranges is not None:
        blob_bytes = sum(-(-(end - off) // 8) * 8 for off, end in blob_ranges)
        dead = hdr.alloc_end - DATA_START - 2 * extent - blob_bytes
    return Summary(
        hdr.gen,
        hdr.capacity,
        hdr.count,
        hdr.tombstones,
        hdr.resizes,
        hdr.seed,
        hdr.alloc_end,
        2 * extent,
        blob_bytes,
        dead,
    )


def verify_tables(buf: Buffer, hdr: Header, full: bool) -> Summary:
    """Check the committed state's checksums (with `full`, every block, tag and blob)."""
    if not full:
        check_block_list(buf, hdr)
        return summarize(hdr, None)
    return summarize(hdr, check_blobs(buf, hdr, scan_table(buf, hdr)))


def live_ranges(buf: Buffer, hdr: Header) -> list[tuple[int, int]]:
    """Byte ranges whose damage the checks must detect; damage elsewhere cannot change contents.

    Outside these ranges lie the spare table copy, the erased header copy, padding and dead
    allocations: a reader never reads them and a writer rewrites them before use.
    """
    crc_at = table_layout(hdr.capacity)[0]
    header_at = HEADER_OFFSETS[hdr.gen % 2]
    return [
        (0, PREFIX.size),
        (header_at, header_at + HEADER_BYTES),
        (hdr.table, hdr.table + hdr.capacity * SLOT_BYTES),
        (hdr.table + crc_at, hdr.table + crc_at + 4 * block_count(hdr.capacity)),
        *check_blobs(buf, hdr, _census(buf, hdr)[3]),
    ]


def probe_stats_of(tags: list[int], shift: int, tombstones: int, resizes: int) -> ProbeStats:
    """Exact probe lengths of a linear-probing table given its slot tags (home = tag >> shift)."""
    cap = len(tags)
    mask = cap - 1
    hits: Counter[int] = Counter()
    for i, t in enumerate(tags):
        if t & 3:
            hits[((i - (t >> shift)) & mask) + 1] += 1
    # A miss starting at a home inside a run of L occupied slots (tombstones count) probes
    # the rest of the run and the empty slot after it; start the scan after an empty slot so
    # that no run wraps around.
    first_empty = tags.index(0)
    misses: Counter[int] = Counter()
    run = 0
    for t in tags[first_empty + 1 :] + tags[: first_empty + 1]:
        if t:
            run += 1
            continue
        misses[1] += 1
        for length in range(2, run + 2):
            misses[length] += 1
        run = 0
    return ProbeStats(
        size=sum(hits.values()),
        capacity=cap,
        probe_unit="slot",
        hit_histogram=_dense(hits),
        miss_histogram=_dense(misses),
        tombstones=tombstones,
        resizes=resizes,
    )


def _dense(counts: Counter[int]) -> tuple[int, ...]:
    return tuple(counts.get(i, 0) for i in range(max(counts, default=0) + 1))
