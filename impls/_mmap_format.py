"""The on-disk format of the `mmap` map: layout, header, hashing, checks that reject bad files.

Layout (all integers little-endian; a "page" is 4096 bytes):

    page 0   prefix: magic b"MAPBMMAP", format version (u32), CRC-32 of those 12 bytes (u32);
             written once at creation. Bytes 64..79 hold two advisory u64 words for readers
             (commit counter, "superseded by compaction" flag): not checksummed, never trusted.
    page 1   header copy A   \\ the two copies alternate; each carries a generation and a CRC-32;
    page 2   header copy B   / the valid copy with the highest generation is the committed state.
    page 3.. allocations, bump-allocated up to the header's `alloc_end`:
             - tables: `capacity` slots of 3 u64 words (tag, key, value), then one CRC-32 per
               block of 512 slots; every table exists twice (committed copy and working copy);
             - blobs (bytes/str keys, bytes values): u32 length, u32 CRC-32, data, padded to 8.

Slot tag word: 0 = empty, 4 = tombstone, else the key's 64-bit hash with its low 3 bits replaced
by the key type (bits 0-1: 1 int, 2 bytes, 3 str) and the value type (bit 2: 0 int, 1 bytes).
An int key or value lives in its word; a bytes/str key or bytes value is the offset of its blob.
The table is open addressing with linear probing; the home slot is the top bits of the hash.

Format history (FORMAT_VERSION):
    1  first version: linear probing, 24-byte slots, 512-slot checksum blocks, two header copies.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from mmap import mmap

from mapbench.errors import MapbenchError

FORMAT_VERSION = 1
MAGIC = b"MAPBMMAP"
PAGE = 4096
PREFIX = struct.Struct("<8sII")
COUNTER_OFFSET = 64  # advisory commit counter read by readers (see mmap_map.py)
SUPERSEDED_OFFSET = 72  # advisory: nonzero once compaction has replaced this file by a new one
HEADER_OFFSETS = (PAGE, 2 * PAGE)
DATA_START = 3 * PAGE

SCHEME_LINEAR = 1
SLOT_WORDS = 3
SLOT_BYTES = 8 * SLOT_WORDS
BLOCK_SLOTS = 512  # checksum block: 512 slots = 12 KiB, so no slot straddles two blocks
BLOCK_WORDS = BLOCK_SLOTS * SLOT_WORDS
MIN_CAPACITY = 8
MAX_CAPACITY = 2**40
MAX_BLOB = 2**32 - 1

EMPTY = 0
TOMBSTONE = 4
KT_INT, KT_BYTES, KT_STR = 1, 2, 3
VT_BYTES = 4  # bit 2 of a live tag
TAG_MASK = 2**64 - 1 - 7  # the hash bits of a tag
M64 = 2**64 - 1
# 2**64 / golden ratio: Fibonacci hashing, the home slot is the top bits of hash * GOLDEN.
GOLDEN = 0x9E3779B97F4A7C15

# gen, scheme, max load (per mille), slot bytes, block slots, seed, capacity, count, tombstones,
# resizes, committed table, spare table, alloc_end, CRC-32 of the table's block checksums; then
# the CRC-32 of all of these.
_HEADER = struct.Struct("<QIIIIQQQQQQQQI")
_HEADER_CRC = struct.Struct("<I")
HEADER_BYTES = _HEADER.size + _HEADER_CRC.size

Buffer = bytes | bytearray | memoryview | mmap  # what the readers below accept


class MmapFormatError(MapbenchError):
    """A file that cannot be opened as an mmap map (the CLI reports it and exits 2)."""


class MmapTruncatedError(MmapFormatError):
    """The file is shorter than its header says it must be."""


class MmapForeignFileError(MmapFormatError):
    """The file is not an mmap map at all (wrong magic number)."""


class MmapVersionError(MmapFormatError):
    """The file was written in a format version this code does not know."""


class MmapCorruptError(MmapFormatError):
    """A checksum or a consistency check failed: the file was damaged."""


def hash_int(key: int, seed: int) -> int:
    """The 64-bit hash of an int key (the key's two's-complement bits, seeded, multiplied)."""
    return ((key & M64) ^ seed) * GOLDEN & M64


def hash_blob(raw: bytes, seed: int) -> int:
    """The 64-bit hash of a bytes key or a str key's UTF-8 (CRC-32 and length, seeded)."""
    return ((zlib.crc32(raw) | len(raw) << 32) ^ seed) * GOLDEN & M64


def encode_str(key: str) -> bytes:
    # surrogatepass: every str (even one with lone surrogates) round-trips.
    return key.encode("utf-8", "surrogatepass")


def decode_str(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def round_up(n: int, unit: int = PAGE) -> int:
    return -(-n // unit) * unit


def block_count(capacity: int) -> int:
    return -(-capacity // BLOCK_SLOTS)


def table_layout(capacity: int) -> tuple[int, int]:
    """(offset of the block checksums within a table, bytes the whole table occupies)."""
    slots = round_up(capacity * SLOT_BYTES)
    return slots, slots + round_up(block_count(capacity) * 4)


def prefix_bytes(version: int = FORMAT_VERSION) -> bytes:
    head = MAGIC + struct.pack("<I", version)
    return head + struct.pack("<I", zlib.crc32(head))


@dataclass(frozen=True)
class Header:
    """One committed state of the map, as stored in a header copy."""

    gen: int
    seed: int
    capacity: int
    count: int
    tombstones: int
    resizes: int
    table: int
    spare: int
    alloc_end: int
    table_crc: int
    max_load_permille: int = 750
    scheme: int = SCHEME_LINEAR

    def pack(self) -> bytes:
        body = _HEADER.pack(
            self.gen,
            self.scheme,
            self.max_load_permille,
            SLOT_BYTES,
            BLOCK_SLOTS,
            self.seed,
            self.capacity,
            self.count,
            self.tombstones,
            self.resizes,
            self.table,
            self.spare,
            self.alloc_end,
            self.table_crc,
        )
        return body + _HEADER_CRC.pack(zlib.crc32(body))

    def next(self, **changes: int) -> Header:
        return replace(self, gen=self.gen + 1, **changes)


def unpack_header(buf: Buffer) -> Header | None:
    """The header stored in `buf`, or None if its checksum fails (erased, torn or damaged)."""
    body = buf[: _HEADER.size]
    if len(buf) < HEADER_BYTES or zlib.crc32(body) != _HEADER_CRC.unpack_from(buf, _HEADER.size)[0]:
        return None
    gen, scheme, load, slot_bytes, block, seed, cap, count, tomb, res, tab, spare, end, tcrc = (
        _HEADER.unpack(body)
    )
    if (scheme, slot_bytes, block) != (SCHEME_LINEAR, SLOT_BYTES, BLOCK_SLOTS):
        # A checksummed header with another scheme: written by a newer writer of this version.
        raise MmapVersionError(f"unknown table scheme {scheme}/{slot_bytes}/{block}")
    return Header(gen, seed, cap, count, tomb, res, tab, spare, end, tcrc, load, scheme)


def check_prefix(buf: Buffer, size: int) -> None:
    """Raise the specific error if the first page does not start an mmap map of our version."""
    if size < PREFIX.size:
        if bytes(buf[: min(size, len(MAGIC))]) != MAGIC[: min(size, len(MAGIC))]:
            raise MmapForeignFileError(f"not a mapbench mmap file ({size} bytes, no magic)")
        raise MmapTruncatedError(
            f"file is {size} bytes, shorter than the {PREFIX.size}-byte prefix"
        )
    magic, version, crc = PREFIX.unpack_from(buf, 0)
    if magic != MAGIC:
        # A damaged magic still leaves the checksum of our magic and version: corruption, not
        # a foreign file.
        if crc == zlib.crc32(MAGIC + struct.pack("<I", version)):
            raise MmapCorruptError("the magic number is damaged (its checksum still matches)")
        raise MmapForeignFileError(f"not a mapbench mmap file (magic {magic!r})")
    if crc != zlib.crc32(bytes(buf[:12])):
        raise MmapCorruptError("the prefix checksum does not match (damaged version field?)")
    if version > FORMAT_VERSION:
        raise MmapVersionError(
            f"format version {version} is newer than this mapbench reads ({FORMAT_VERSION})"
        )
    if version < 1:
        raise MmapCorruptError(f"impossible format version {version}")
    if size < DATA_START:
        raise MmapTruncatedError(
            f"file is {size} bytes, shorter than its {DATA_START}-byte headers"
        )


def read_headers(buf: Buffer, size: int) -> tuple[Header, Header | None]:
    """(the committed header, the older copy if it is also intact), checked against the file size.

    Both copies are intact only after a crash between writing a new header and erasing the old.
    """
    check_prefix(buf, size)
    found = [h for h in (unpack_header(buf[o : o + HEADER_BYTES]) for o in HEADER_OFFSETS) if h]
    if not found:
        raise MmapCorruptError("no intact header (both header copies fail their checksum)")
    found.sort(key=lambda h: h.gen, reverse=True)
    newest = found[0]
    check_header(newest, size)
    return newest, (found[1] if len(found) > 1 else None)


def check_header(h: Header, size: int) -> None:
    """Raise if a checksummed header describes an impossible or truncated file."""
    cap = h.capacity
    if cap < MIN_CAPACITY or cap > MAX_CAPACITY or cap & (cap - 1):
        raise MmapCorruptError(f"impossible capacity {cap}")
    if not 0 < h.max_load_permille < 1000 or h.count + h.tombstones > cap:
        raise MmapCorruptError(f"impossible counts {h.count}+{h.tombstones} for capacity {cap}")
    extent = table_layout(cap)[1]
    for offset in (h.table, h.spare):
        if offset % PAGE or offset < DATA_START or offset + extent > h.alloc_end:
            raise MmapCorruptError(f"table offset {offset} outside the allocated area")
    if abs(h.table - h.spare) < extent:
        raise MmapCorruptError("the two table copies overlap")
    if h.alloc_end > size:
        raise MmapTruncatedError(f"file is {size} bytes but its header needs {h.alloc_end}")
