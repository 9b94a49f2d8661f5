"""The mmap map's on-disk format, pinned by one fixture file per format version.

`tests/fixtures/mmap/v3.map` was written by `build` below (as `v1.map` and `v2.map` were by the
version 1 and 2 writers, with the same operations). If `test_writer_reproduces_*` fails, the
format changed: bump `FORMAT_VERSION`, note the change in `_mmap_format`'s history, keep the
old fixtures (old files must still open, or be rejected with `MmapVersionError`), and add a new
one with `python tests/test_mmap_format.py DIR`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from mapbench.impls import _mmap_format as fmt
from mapbench.impls.mmap_map import MmapMap

FIXTURES = Path(__file__).parent / "fixtures" / "mmap"
CONTENTS: dict[Any, Any] = {
    **{i: i * i for i in range(40)},
    **{f"s{i}": b"%d" % i * 3 for i in range(0, 40, 2)},
    b"\x00bytes": -(2**63),
    "ключ": b"",
}


def build(path: Path) -> None:
    """Two flushes, growth, deletes and overwrites: every kind of record the format has."""
    with MmapMap(path, create=True, seed=0xC0FFEE) as m:
        for i in range(40):
            m[i] = -i
        m.flush()
        for i in range(40):
            m[i] = i * i
            m[f"s{i}"] = b"%d" % i * 3
        for i in range(1, 40, 2):
            del m[f"s{i}"]
        m.update({b"\x00bytes": -(2**63), "ключ": b""})


def header_of(name: str) -> tuple[bytes, fmt.Header]:
    data = (FIXTURES / name).read_bytes()
    header, older = fmt.read_headers(memoryview(data), len(data))
    assert older is None, "a cleanly closed file keeps one intact header copy"
    return data, header


@pytest.mark.parametrize("version", [1, 2, 3])
def test_fixture_header_fields(version: int) -> None:
    data, header = header_of(f"v{version}.map")
    assert data[:8] == fmt.MAGIC and int.from_bytes(data[8:12], "little") == version
    assert header.version == version
    assert (header.gen, header.count, header.tombstones) == (3, len(CONTENTS), 13)
    assert (header.capacity, header.resizes, header.seed) == (128, 3, 0xC0FFEE)
    # Version 1 cut the file to its committed end on close; later ones never shrink a file.
    assert header.alloc_end == len(data) if version == 1 else header.alloc_end < len(data)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_fixture_opens_for_reading_in_place(version: int) -> None:
    with MmapMap(FIXTURES / f"v{version}.map", create=False, writer=False) as r:
        assert dict(r.items()) == CONTENTS
        assert r.summary().seed == 0xC0FFEE


@pytest.mark.parametrize("version", [1, 2])
def test_a_writer_upgrades_an_old_file_to_the_current_version(tmp_path: Path, version: int) -> None:
    copy = tmp_path / f"v{version}.map"
    shutil.copy(FIXTURES / copy.name, copy)
    with MmapMap(copy, create=False) as m:
        assert dict(m.items()) == CONTENTS
        m["new"] = 1
    data = copy.read_bytes()
    assert int.from_bytes(data[8:12], "little") == fmt.FORMAT_VERSION == 3
    with MmapMap(copy, create=False, writer=False) as r:
        assert dict(r.items()) == {**CONTENTS, "new": 1}
        assert r.summary().seed == 0xC0FFEE
    assert sorted(p.name for p in tmp_path.iterdir()) == [copy.name]


def test_writer_reproduces_the_current_fixture_byte_for_byte(tmp_path: Path) -> None:
    build(tmp_path / "now.map")
    expected = FIXTURES / f"v{fmt.FORMAT_VERSION}.map"
    assert (tmp_path / "now.map").read_bytes() == expected.read_bytes()


if __name__ == "__main__":
    target = Path(sys.argv[1]) / f"v{fmt.FORMAT_VERSION}.map"
    target.unlink(missing_ok=True)
    build(target)
    print(f"wrote {target}")
