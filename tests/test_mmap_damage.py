"""Over a thousand damaged files, each rejected with its specific error; other damage is harmless.

Damage in the bytes the map depends on (its live ranges: prefix, committed header, committed
table and its checksums, every referenced blob) must be detected; damage elsewhere (the spare
table, the erased header copy, padding, dead allocations, free space) must leave the contents
intact. Zeros get their own cases (a lost write, a hole punched by the file system): zeroed
blob headers, table regions and whole blocks must never pass as valid empty data.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mapbench.impls import _mmap_format as fmt
from mapbench.impls.mmap_map import (
    MmapCorruptError,
    MmapForeignFileError,
    MmapFormatError,
    MmapMap,
    MmapTruncatedError,
    MmapVersionError,
    live_ranges,
)


@dataclass(frozen=True)
class Base:
    """A good file, its contents, and the byte ranges whose damage must be detected."""

    name: str
    data: bytes
    contents: dict[Any, Any]
    live: list[tuple[int, int]]
    alloc_end: int

    @property
    def blobs(self) -> list[tuple[int, int]]:
        return self.live[4:]  # after the prefix, header, slots and block checksums

    @property
    def table(self) -> tuple[int, int]:
        """From the first slot to the last block checksum of the committed table."""
        return self.live[2][0], self.live[3][1]

    def live_offset(self, rng: random.Random, past: int = 0) -> int:
        # Weighted by length, so every live byte is equally likely.
        ranges = [(max(s, past), e) for s, e in self.live if e > past]
        start, end = rng.choices(ranges, weights=[e - s for s, e in ranges])[0]
        return rng.randrange(start, end)

    def dead_offsets(self) -> list[int]:
        covered = bytearray(len(self.data))
        for start, end in self.live:
            covered[start:end] = b"\x01" * (end - start)
        return [i for i, c in enumerate(covered) if not c]


def build(tmp: Path, name: str, fill: Any) -> Base:
    path = tmp / f"{name}.map"
    with MmapMap(path) as m:
        fill(m)
        contents = dict(m.items())
    data = path.read_bytes()
    view = memoryview(data)
    header, _ = fmt.read_headers(view, len(data))
    return Base(name, data, contents, live_ranges(view, header), header.alloc_end)


def fill_ints(m: MmapMap) -> None:
    for i in range(3000):
        m[i * 7919] = -i


def fill_mixed(m: MmapMap) -> None:
    for i in range(600):
        m[f"str {i}"] = b"v%d" % i * (i % 7)
        m[b"bytes %d" % i] = i
        m[i] = b"x" * (i % 50)
    for i in range(0, 600, 3):
        del m[f"str {i}"]
        m[i] = -i  # overwritten blobs become dead bytes
    m.flush()
    m["after a flush"] = b"!"


def fill_tiny(m: MmapMap) -> None:
    m.update({1: 1, "a": b"a", b"b": 2})


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> list[Base]:
    tmp = tmp_path_factory.mktemp("bases")
    return [
        build(tmp, n, f)
        for n, f in [("ints", fill_ints), ("mixed", fill_mixed), ("tiny", fill_tiny)]
    ]


def open_both_ways(path: Path) -> Iterator[MmapMap]:
    """A verifying reader and a writer (which must not repair or touch a bad file)."""
    for writer in (False, True):
        with MmapMap(path, create=False, writer=writer) as m:
            yield m


def rejected(path: Path, expected: type[MmapFormatError]) -> None:
    before = path.read_bytes()
    for writer in (False, True):
        with pytest.raises(MmapFormatError) as info:
            MmapMap(path, create=False, writer=writer)
        assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
        assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == before, "opening a bad file must not change it"


def damaged_files(
    bases: list[Base], rng: random.Random
) -> Iterator[tuple[bytes, type[MmapFormatError]]]:
    """(damaged bytes, the error they must raise): 1,100 cases."""
    for i in range(500):  # one flipped byte anywhere in a live range
        base = bases[i % len(bases)]
        data = bytearray(base.data)
        data[base.live_offset(rng)] ^= rng.randrange(1, 256)
        yield bytes(data), MmapCorruptError
    for i in range(200):  # a burst of random bytes inside one live range (past the prefix,
        # whose wholesale replacement is indistinguishable from a foreign file)
        base = bases[i % len(bases)]
        data = bytearray(base.data)
        at = base.live_offset(rng, past=fmt.PREFIX.size)
        end = next(e for s, e in base.live if s <= at < e)
        burst = rng.randbytes(min(rng.randrange(2, 17), end - at))
        if data[at : at + len(burst)] == burst:  # pragma: no cover - 2**-16 at worst
            burst = bytes(b ^ 1 for b in burst)
        data[at : at + len(burst)] = burst
        yield bytes(data), MmapCorruptError
    for i in range(200):  # cut anywhere before the committed end, even inside the prefix
        base = bases[i % len(bases)]
        yield base.data[: rng.randrange(0, base.alloc_end)], MmapTruncatedError
    for i in range(100):  # foreign files: random bytes, text, other formats, short files
        samples = [
            rng.randbytes(rng.randrange(1, 20000)),
            (f"hello world {i}\n" * rng.randrange(1, 500)).encode(),
            b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randrange(100)),
            b"\x7fELF" + bytes(rng.randrange(5000)),
            b"MAPBMMAX" + rng.randbytes(rng.randrange(8, 20000)),
        ]
        yield samples[i % len(samples)], MmapForeignFileError
    for i in range(50):  # magic and version both damaged, a header copy intact: ours, damaged
        base = bases[i % len(bases)]
        yield rng.randbytes(12) + base.data[12:], MmapCorruptError
    for i in range(50):  # a well-formed prefix of a newer format version
        base = bases[i % len(bases)]
        version = rng.choice([fmt.FORMAT_VERSION + 1, rng.randrange(fmt.FORMAT_VERSION + 1, 2**32)])
        head = fmt.MAGIC + struct.pack("<I", version)
        yield head + struct.pack("<I", zlib.crc32(head)) + base.data[16:], MmapVersionError


def zeroed(data: bytes, start: int, end: int) -> bytes | None:
    """`data` with [start, end) zeroed, or None if those bytes were zeros already."""
    if not any(data[start:end]):
        return None
    return data[:start] + bytes(end - start) + data[end:]


def zeroed_files(bases: list[Base], rng: random.Random) -> Iterator[bytes]:
    """Files with zeros written over live bytes: 600 cases, every one must be rejected."""
    with_blobs = [b for b in bases if b.blobs]
    for base in with_blobs:  # every live blob header at once: each key would read as b""
        data = bytearray(base.data)
        for start, _ in base.blobs:
            data[start : start + 8] = bytes(8)
        yield bytes(data)
    cases: list[tuple[Base, int, int]] = []
    for i in range(150):  # one blob header (length and checksum) or one whole blob
        base = with_blobs[i % len(with_blobs)]
        start, end = rng.choice(base.blobs)
        cases.append((base, start, start + 8 if i % 2 else end))
    for i in range(150):  # a region of the committed table: slots and/or block checksums
        base = bases[i % len(bases)]
        start = rng.randrange(*base.table)
        cases.append((base, start, min(start + rng.randrange(1, 40_000), base.table[1])))
    for i in range(300):  # an aligned block (a 512-byte sector or a 4 KiB page) anywhere live
        base = bases[i % len(bases)]
        size = 512 if i % 2 else 4096
        start = base.live_offset(rng) // size * size
        cases.append((base, start, start + size))
    for base, start, end in cases:
        damaged = zeroed(base.data, start, end)
        if damaged is not None:
            yield damaged


@pytest.mark.slow
def test_zeroed_blob_headers_table_regions_and_blocks_are_rejected(
    bases: list[Base], tmp_path: Path
) -> None:
    path = tmp_path / "zeroed.map"
    cases = 0
    for data in zeroed_files(bases, random.Random(7)):
        path.write_bytes(data)
        rejected(path, MmapCorruptError)
        cases += 1
    assert cases >= 500


@pytest.mark.slow
def test_every_damaged_file_is_rejected_with_its_specific_error(
    bases: list[Base], tmp_path: Path
) -> None:
    path = tmp_path / "damaged.map"
    counts: dict[str, int] = {}
    for data, expected in damaged_files(bases, random.Random(5)):
        path.write_bytes(data)
        rejected(path, expected)
        counts[expected.__name__] = counts.get(expected.__name__, 0) + 1
    assert sum(counts.values()) >= 1000, counts
    assert set(counts) == {
        e.__name__
        for e in (MmapCorruptError, MmapTruncatedError, MmapForeignFileError, MmapVersionError)
    }


def test_a_damaged_magic_and_version_read_as_damage_when_a_header_is_ours(
    bases: list[Base], tmp_path: Path
) -> None:
    path = tmp_path / "prefix.map"
    path.write_bytes(b"GARBAGE!\xff\xff\xff\xff" + bases[0].data[12:])
    rejected(path, MmapCorruptError)
    path.write_bytes(b"GARBAGE!\xff\xff\xff\xff" + bytes(len(bases[0].data) - 12))
    rejected(path, MmapForeignFileError)


def test_damage_outside_live_ranges_changes_nothing(bases: list[Base], tmp_path: Path) -> None:
    rng = random.Random(6)
    path = tmp_path / "harmless.map"
    for base in bases:
        dead = base.dead_offsets()
        assert len(dead) > len(base.data) // 10, "the spare table copy alone is dead weight"
        for _ in range(40):
            data = bytearray(base.data)
            for offset in rng.sample(dead, 8):
                data[offset] ^= rng.randrange(1, 256)
            path.write_bytes(data)
            for m in open_both_ways(path):
                assert dict(m.items()) == base.contents


def test_every_live_byte_is_checked_in_the_tiny_file(bases: list[Base], tmp_path: Path) -> None:
    """Exhaustively: flipping any single live bit of a small file is detected."""
    tiny = next(b for b in bases if b.name == "tiny")
    path = tmp_path / "tiny.map"
    for start, end in tiny.live:
        for offset in range(start, end):
            data = bytearray(tiny.data)
            data[offset] ^= 1 << (offset % 8)
            path.write_bytes(data)
            with pytest.raises(MmapCorruptError):
                MmapMap(path, create=False, writer=False)
