"""The mmap map's on-disk format, pinned by one fixture file per format version.

`tests/fixtures/mmap/v1.map` was written by `build_v1` below. If `test_writer_reproduces_*`
fails, the format changed: bump `FORMAT_VERSION`, note the change in `_mmap_format`'s history,
keep the old fixture (old files must still open or be rejected with `MmapVersionError`), and add
a new one with `python tests/test_mmap_format.py DIR`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from mapbench.impls import _mmap_format as fmt
from mapbench.impls.mmap_map import MmapMap

FIXTURES = Path(__file__).parent / "fixtures" / "mmap"
V1_CONTENTS: dict[Any, Any] = {
    **{i: i * i for i in range(40)},
    **{f"s{i}": b"%d" % i * 3 for i in range(0, 40, 2)},
    b"\x00bytes": -(2**63),
    "ключ": b"",
}


def build_v1(path: Path) -> None:
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


def test_v1_fixture_opens_with_its_contents(tmp_path: Path) -> None:
    copy = tmp_path / "v1.map"
    shutil.copy(FIXTURES / "v1.map", copy)
    for writer in (False, True):
        with MmapMap(copy, create=False, writer=writer) as m:
            assert dict(m.items()) == V1_CONTENTS
            assert m.summary().seed == 0xC0FFEE


def test_v1_header_fields(tmp_path: Path) -> None:
    data = (FIXTURES / "v1.map").read_bytes()
    assert data[:8] == fmt.MAGIC and int.from_bytes(data[8:12], "little") == 1
    header, older = fmt.read_headers(memoryview(data), len(data))
    assert older is None, "a cleanly closed file keeps one intact header copy"
    assert (header.gen, header.count, header.tombstones) == (3, len(V1_CONTENTS), 13)
    assert (header.capacity, header.resizes, header.seed) == (128, 3, 0xC0FFEE)
    assert header.alloc_end == len(data)


def test_writer_reproduces_the_v1_fixture_byte_for_byte(tmp_path: Path) -> None:
    build_v1(tmp_path / "now.map")
    assert (tmp_path / "now.map").read_bytes() == (FIXTURES / "v1.map").read_bytes()


if __name__ == "__main__":
    target = Path(sys.argv[1]) / "v1.map"
    target.unlink(missing_ok=True)
    build_v1(target)
    print(f"wrote {target}")
