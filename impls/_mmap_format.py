"""The on-disk format of the `mmap` map: layout, header, checksums, checks that reject bad files.

Layout (all integers little-endian; a "page" is 4096 bytes):

    page 0   prefix: magic b"MAPBMMAP", format version (u32), CRC-32 of those 12 bytes (u32);
             written once at creation. Bytes 64..79 hold two advisory u64 words for readers
             (commit counter, "superseded by compaction" flag): not checksummed, never trusted.
    page 1   header copy A   \\ the two copies alternate; each carries a generation and a checksum;
    page 2   header copy B   / the valid copy with the highest generation is the committed state.
    page 3.. allocations, bump-allocated up to the header's `alloc_end`:
             - tables: `capacity` slots of 3 u64 words (tag, key, value), then one checksum per
               block of 512 slots; every table exists at least twice (committed copy and working
               copy; more while readers pin older copies, see `_mmap_storage.pin`);
             - blobs (bytes/str keys, bytes values): u32 length, u32 checksum, data, padded to 8.
             Bytes past `alloc_end` (up to the file size) are free space for later allocations.

Slot tag word: 0 = empty, 4 = tombstone, else the key's 64-bit hash with its low 3 bits replaced
by the key type (bits 0-1: 1 int, 2 bytes, 3 str) and the value type (bit 2: 0 int, 1 bytes).
An int key or value lives in its word; a bytes/str key or bytes value is the offset of its blob.
The table is open addressing with linear probing; the home slot is the top bits of the hash.

Checksums (version 2): `checksum()` below, a CRC-32 whose starting value is the CRC-32 of a
non-zero kind tag and the position of what it covers (header slot; table capacity and block
number; blob offset and length), with 0 replaced by 1. So a zeroed or moved region never
verifies: an all-zero blob header, block or header always fails.

Format history (FORMAT_VERSION):
    1  first version: linear probing, 24-byte slots, 512-slot checksum blocks, two header copies;
       plain CRC-32s (an all-zero blob header verified as an empty blob).
    2  checksums seeded with kind and position and never 0 (see above); new files appear at
       their path only complete (built under a temporary name, then linked into place) and are
       never shrunk (bytes past `alloc_end` are free space). Readers read version 1 files; a
       writer upgrades one to version 2 when it opens it (by compaction).
    3  same layout; table pins: readers lock the committed table they read, the writer never
       writes a pinned table (it takes another one of the same size), so readers never retry a
       read. The header's `spare` is the table the writer prefers to work in next. Readers
       read version 1 and 2 files checking the counter after each read (their writers know no
       pins); a writer upgrades them to version 3 when it opens them (by compaction).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, replace
from mmap import mmap

from mapbench.errors import MapbenchError

FORMAT_VERSION = 3
PINNED_VERSION = 3  # the first version whose writers respect readers' table pins
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
BLOCK_BYTES = BLOCK_SLOTS * SLOT_BYTES
MIN_CAPACITY = 8
MAX_CAPACITY = 2**40
MAX_BLOB = 2**32 - 1
LEN_MASK = 0xFFFFFFFF  # the length half of a blob's first word

EMPTY = 0
TOMBSTONE = 4
KT_INT, KT_BYTES, KT_STR = 1, 2, 3
VT_BYTES = 4  # bit 2 of a live tag
TAG_MASK = 2**64 - 1 - 7  # the hash bits of a tag
M64 = 2**64 - 1
# 2**64 / golden ratio: Fibonacci hashing, the home slot is the top bits of hash * GOLDEN.
GOLDEN = 0x9E3779B97F4A7C15

# What a checksum covers, mixed into its starting value (version 2 on).
KIND_HEADER = b"header"
KIND_BLOCK = b"block"
KIND_BLOCK_LIST = b"blocks"
KIND_BLOB = b"blob"
_SEED = struct.Struct("<8sQQ")

# gen, scheme, max load (per mille), slot bytes, block slots, seed, capacity, count, tombstones,
# resizes, committed table, spare table, alloc_end, checksum of the table's block checksums;
# then the checksum of all of these.
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


class MmapBusyError(MapbenchError):
    """A reader found the writer committing during every attempt to read one consistent state."""


def checksum(version: int, kind: bytes, data: Buffer, a: int = 0, b: int = 0) -> int:
    """The checksum stored for `data`, which sits at position (`a`, `b`) as a `kind` record."""
    if version == 1:
        return zlib.crc32(data)
    return zlib.crc32(data, zlib.crc32(_SEED.pack(kind, a, b))) or 1


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
    """One committed state of the map, as stored in a header copy (`version` is the file's)."""

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
    version: int = FORMAT_VERSION

    def pack(self) -> bytes:
        """The header's bytes for copy `gen % 2` (always in the current format version)."""
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
        crc = checksum(FORMAT_VERSION, KIND_HEADER, body, HEADER_OFFSETS[self.gen % 2])
        return body + _HEADER_CRC.pack(crc)

    def next(self, **changes: int) -> Header:
        return replace(self, gen=self.gen + 1, **changes)


def unpack_header(buf: Buffer, version: int, at: int) -> Header | None:
    """The header stored at offset `at`, or None if its checksum fails (erased, torn, damaged)."""
    raw = bytes(buf[at : at + HEADER_BYTES])
    body = raw[: _HEADER.size]
    if len(raw) < HEADER_BYTES:
        return None
    if checksum(version, KIND_HEADER, body, at) != _HEADER_CRC.unpack_from(raw, _HEADER.size)[0]:
        return None
    gen, scheme, load, slot_bytes, block, seed, cap, count, tomb, res, tab, spare, end, tcrc = (
        _HEADER.unpack(body)
    )
    if (scheme, slot_bytes, block) != (SCHEME_LINEAR, SLOT_BYTES, BLOCK_SLOTS):
        # A checksummed header with another scheme: written by a newer writer of this version.
        raise MmapVersionError(f"unknown table scheme {scheme}/{slot_bytes}/{block}")
    if HEADER_OFFSETS[gen % 2] != at:
        raise MmapCorruptError(f"header generation {gen} in the wrong copy")
    return Header(gen, seed, cap, count, tomb, res, tab, spare, end, tcrc, load, scheme, version)


def check_prefix(buf: Buffer, size: int) -> int:
    """The file's format version; raises the specific error if it does not start an mmap map."""
    if size < PREFIX.size:
        if bytes(buf[: min(size, len(MAGIC))]) != MAGIC[: min(size, len(MAGIC))]:
            raise MmapForeignFileError(f"not a mapbench mmap file ({size} bytes, no magic)")
        raise MmapTruncatedError(
            f"file is {size} bytes, shorter than the {PREFIX.size}-byte prefix"
        )
    magic, version, crc = PREFIX.unpack_from(buf, 0)
    if magic != MAGIC:
        # A damaged magic still leaves the checksum of our magic and version, or one of our
        # checksummed headers: corruption, not a foreign file. Zeros where the magic belongs
        # are damage too (a zeroed first block).
        if crc == zlib.crc32(MAGIC + struct.pack("<I", version)):
            raise MmapCorruptError("the magic number is damaged (its checksum still matches)")
        if magic == bytes(len(MAGIC)):
            raise MmapCorruptError("zeros where the magic number belongs (a zeroed first block)")
        if _has_our_header(buf, size):
            raise MmapCorruptError("the magic number is damaged (a header copy is intact)")
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
    return int(version)


def _has_our_header(buf: Buffer, size: int) -> bool:
    """Whether a header copy verifies under some format version: the file is ours, damaged."""
    if size < DATA_START:
        return False
    for version in range(1, FORMAT_VERSION + 1):
        for at in HEADER_OFFSETS:
            try:
                if unpack_header(buf, version, at) is not None:
                    return True
            except MmapFormatError:
                return True  # checksummed, then found inconsistent: ours all the same
    return False


def read_headers(buf: Buffer, size: int) -> tuple[Header, Header | None]:
    """(the committed header, the older copy if it is also intact); checks prefix and bounds
    against `size` only as far as the headers themselves (see `check_header` for the rest).

    Both copies are intact only after a crash between writing a new header and erasing the old.
    """
    version = check_prefix(buf, size)
    found = [h for h in (unpack_header(buf, version, at) for at in HEADER_OFFSETS) if h]
    if not found:
        raise MmapCorruptError("no intact header (both header copies fail their checksum)")
    found.sort(key=lambda h: h.gen, reverse=True)
    return found[0], (found[1] if len(found) > 1 else None)


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
