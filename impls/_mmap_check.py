"""Reading a committed mmap-map table whole: checksum verification, live byte ranges, probe stats.

Used on open (verify), by `mapbench mmap-check`, by `probe_stats()`, and by the damage tests.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass

from mapbench.impls._mmap_format import (
    DATA_START,
    HEADER_BYTES,
    HEADER_OFFSETS,
    KT_BYTES,
    PREFIX,
    SLOT_BYTES,
    TOMBSTONE,
    VT_BYTES,
    Header,
    MmapCorruptError,
    block_count,
    table_layout,
)

from mapbench.protocol import ProbeStats

BLOCK_BYTES = 512 * SLOT_BYTES
LEN_MASK = 0xFFFFFFFF


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


def _columns(buf: memoryview, hdr: Header) -> tuple[list[int], list[int], list[int]]:
    words = buf[hdr.table : hdr.table + hdr.capacity * SLOT_BYTES].cast("Q")
    try:
        return words[0::3].tolist(), words[1::3].tolist(), words[2::3].tolist()
    finally:
        words.release()


def _blob_ranges(buf: memoryview, hdr: Header) -> list[tuple[int, int]]:
    """(offset, end) of every blob the committed table refers to, each checked against its CRC."""
    tags, keys, values = _columns(buf, hdr)
    live = tombstones = 0
    ranges = []
    for t, k, v in zip(tags, keys, values, strict=True):
        if not t & 3:
            if t == TOMBSTONE:
                tombstones += 1
            elif t:
                raise MmapCorruptError(f"impossible slot tag {t:#x}")
            continue
        live += 1
        if t & KT_BYTES:
            ranges.append(_check_blob(buf, hdr, k))
        if t & VT_BYTES:
            ranges.append(_check_blob(buf, hdr, v))
    if (live, tombstones) != (hdr.count, hdr.tombstones):
        raise MmapCorruptError(
            f"table holds {live} keys and {tombstones} tombstones; header says "
            f"{hdr.count} and {hdr.tombstones}"
        )
    return ranges


def _check_blob(buf: memoryview, hdr: Header, off: int) -> tuple[int, int]:
    if off % 8 or off < DATA_START or off + 8 > hdr.alloc_end:
        raise MmapCorruptError(f"blob offset {off} outside the allocated area")
    word = int.from_bytes(buf[off : off + 8], "little")
    end = off + 8 + (word & LEN_MASK)
    if end > hdr.alloc_end or zlib.crc32(buf[off + 8 : end]) != word >> 32:
        raise MmapCorruptError(f"blob at offset {off} fails its checksum")
    return off, end


def verify_tables(buf: memoryview, hdr: Header, full: bool) -> Summary:
    """Check the committed table's checksums (and with `full`, every block and blob)."""
    crc_at, extent = table_layout(hdr.capacity)
    blocks = block_count(hdr.capacity)
    start = hdr.table + crc_at
    if zlib.crc32(buf[start : start + 4 * blocks]) != hdr.table_crc:
        raise MmapCorruptError("the table's block checksums do not match the header")
    blob_bytes = dead = -1
    if full:
        stored = array("I", bytes(buf[start : start + 4 * blocks]))
        if sys.byteorder == "big":  # pragma: no cover - the format is little-endian
            stored.byteswap()
        slots_end = hdr.table + hdr.capacity * SLOT_BYTES
        for j, crc in enumerate(stored):
            a = hdr.table + j * BLOCK_BYTES
            if zlib.crc32(buf[a : min(a + BLOCK_BYTES, slots_end)]) != crc:
                raise MmapCorruptError(f"table block {j} fails its checksum")
        blob_bytes = sum(-(-(end - off) // 8) * 8 for off, end in _blob_ranges(buf, hdr))
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


def live_ranges(buf: memoryview, hdr: Header) -> list[tuple[int, int]]:
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
        *_blob_ranges(buf, hdr),
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
