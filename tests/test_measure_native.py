"""Allocations and memory that Python's allocator never sees: native malloc, anonymous and file
mmap. Known amounts go in through each path; the figures must come out exactly."""

from __future__ import annotations

import ctypes
import mmap
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mapbench.measure import allocator_log, collect
from mapbench.measure.allocations import AllocationsPerOp
from mapbench.measure.allocator_log import PAGE, classify_mappings, tally
from mapbench.measure.memory import MemoryPerEntry
from mapbench.registry import parse_spec
from mapbench.schema import Measurement
from mapbench.workloads import Case, get_workload

pytest.importorskip("memray")

# A C library that allocates through its own PLT, as a C map does.
HELPER_C = """
#include <stdlib.h>
void *grab(size_t n) { return malloc(n); }
void *grab_zeroed(size_t n) { return calloc(n, 1); }
void drop(void *p) { free(p); }
"""


@pytest.fixture(scope="module")
def helper(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    where = tmp_path_factory.mktemp("helper")
    (where / "helper.c").write_text(HELPER_C)
    lib = where / "libhelper.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", lib, where / "helper.c"], check=True)
    dll = ctypes.CDLL(str(lib))
    for name in ("grab", "grab_zeroed"):
        getattr(dll, name).restype = ctypes.c_void_p
        getattr(dll, name).argtypes = [ctypes.c_size_t]
    dll.drop.argtypes = [ctypes.c_void_p]
    return dll


def _by_name(ms: list[Measurement]) -> dict[str, float]:
    return {m.name: m.value for m in ms}


ENTRY_BYTES = 100  # malloc'd per entry
ANON_BYTES = 5 * PAGE + 1  # one anonymous mapping per fill: 6 whole pages
FILE_BYTES = 3 * PAGE  # one file mapping per fill


class KnownMemoryMap:
    """Filling it allocates known amounts: C malloc per entry, one anonymous mapping (touched),
    one mapping of a file of its own."""

    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)
    helper: ClassVar[ctypes.CDLL]
    directory: ClassVar[Path]

    def __init__(self) -> None:
        self.pointers: dict[Any, int] = {}
        self.maps: list[mmap.mmap] = []

    def update(self, items: Any) -> None:
        for key, _ in items:
            self.pointers[key] = self.helper.grab(ENTRY_BYTES)
        anon = mmap.mmap(-1, ANON_BYTES)
        anon[: len(anon)] = b"x" * len(anon)  # touched: resident, and still counted once
        path = self.directory / f"map-{id(self)}"
        path.write_bytes(b"\0" * FILE_BYTES)
        with path.open("r+b") as f:
            backed = mmap.mmap(f.fileno(), FILE_BYTES)
        self.maps += [anon, backed]

    def __len__(self) -> int:
        return len(self.pointers)

    def close(self) -> None:
        for p in self.pointers.values():
            self.helper.drop(p)
        self.pointers.clear()
        for m in self.maps:
            m.close()
        self.maps.clear()


def test_memory_per_entry_counts_malloc_anonymous_and_file_mappings(
    helper: ctypes.CDLL, tmp_path: Path
) -> None:
    KnownMemoryMap.helper, KnownMemoryMap.directory = helper, tmp_path
    n = 1000
    case = get_workload("insert").prepare(KnownMemoryMap, n, "seq-int")  # type: ignore[arg-type]
    got = _by_name(MemoryPerEntry().collect(case))
    case.close()
    assert got["memory_native_bytes_per_entry"] * n == pytest.approx(
        n * ENTRY_BYTES + 6 * PAGE, abs=1e-6
    )
    assert got["memory_file_mapped_bytes_per_entry"] * n == pytest.approx(FILE_BYTES, abs=1e-6)
    assert got["memory_traced_bytes_per_entry"] > 0  # the dict of pointers
    assert got["memory_bytes_per_entry"] == pytest.approx(
        got["memory_traced_bytes_per_entry"] + got["memory_native_bytes_per_entry"]
    )


@dataclass
class _Record:
    allocator: int
    address: int
    size: int


def _records(*rows: tuple[str, int, int]) -> Iterator[_Record]:
    from memray import AllocatorType

    return (_Record(int(AllocatorType[kind]), address, size) for kind, address, size in rows)


def test_tally_follows_frees_reallocs_and_partial_unmaps() -> None:
    # Python allocator records are memray's, not native: skipped.
    got = tally(
        _records(
            ("PYMALLOC_MALLOC", 1, 40),
            ("PYMALLOC_FREE", 1, 0),
            ("MALLOC", 0x100, 1000),
            ("FREE", 0x100, 0),  # a realloc: memray records the free, then the new block
            ("REALLOC", 0x200, 3000),
            ("FREE", 0x999, 0),  # older memory: credits nothing
            ("MMAP", 0x10000, 4 * PAGE - 10),  # 4 pages
            ("MUNMAP", 0x10000 + PAGE, PAGE),  # a hole: 3 pages in two pieces remain
            ("CALLOC", 0x300, 50),
        )
    )
    assert got.native_calls == 4  # malloc, realloc, mmap, calloc
    assert got.native_bytes == 1000 + 3000 + 4 * PAGE + 50
    assert got.native_net == 3000 + 3 * PAGE + 50
    assert got.native_peak == 3000 + 4 * PAGE
    assert got.mappings == {0x10000: PAGE, 0x10000 + 2 * PAGE: 2 * PAGE}


def test_mappings_are_classified_by_proc_maps() -> None:
    maps = (
        "7f0000000000-7f0000004000 rw-p 00000000 00:00 0 \n"
        "7f0000004000-7f0000006000 rw-s 00000000 08:01 123456 /tmp/file\n"
        "7f0000006000-7f0000007000 rw-s 00000000 00:01 20   /dev/zero (deleted)\n"
    )
    mappings = {0x7F0000000000: 4 * 4096, 0x7F0000004000: 2 * 4096, 0x7F0000006000: 4096}
    assert classify_mappings(mappings, maps) == (5 * 4096, 2 * 4096)


def test_ctypes_malloc_through_dlsym_is_a_documented_blind_spot() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    pointers: list[int] = []
    got = allocator_log.track(lambda: pointers.append(libc.malloc(123_457)))
    libc.free(pointers[0])
    assert got.native_bytes == 0  # a pointer from dlsym skips memray's PLT hooks


class AllocatingCase(Case):
    """Each op makes one 64-byte C block and keeps it (and, with `extra`, one `object()`);
    each run also makes a one-off Python object and C block at its first op."""

    fill = False

    def __init__(self, helper: ctypes.CDLL, ops: int, extra: bool) -> None:
        factory = parse_spec("dict").create
        super().__init__(factory, factory(), [], ops)
        self.helper = helper
        self.extra = extra
        self.order = list(range(ops))  # no int is created while running
        self.kept: list[object] = []
        self.blocks: list[int] = []

    def reset(self) -> None:
        for p in self.blocks:
            self.helper.drop(p)
        self.blocks = [0] * (self.ops + 1)
        self.kept = [None] * (self.ops + 1)
        super().reset()

    def run_range(self, start: int, stop: int) -> None:
        grab, kept, blocks = self.helper.grab, self.kept, self.blocks
        if start == 0:
            kept[-1] = bytearray(300)
            blocks[-1] = grab(1000)
        for i in self.order[start:stop]:
            if self.extra:
                kept[i] = object()
            blocks[i] = grab(64)

    def close(self) -> None:
        self.reset()
        super().close()


def _allocations(helper: ctypes.CDLL, extra: bool) -> dict[str, float]:
    case = AllocatingCase(helper, 4000, extra)
    got = _by_name(AllocationsPerOp().collect(case))
    again = _by_name(collect(case, ["allocations"]).measurements)
    case.close()
    assert got == again
    return got


def test_allocations_per_op_are_exact_and_one_offs_cancel(helper: ctypes.CDLL) -> None:
    plain, extra = _allocations(helper, False), _allocations(helper, True)
    # One object() more per op is exactly one call more, of its exact size.
    assert extra["alloc_python_calls_per_op"] - plain["alloc_python_calls_per_op"] == 1
    assert (
        extra["alloc_python_bytes_per_op"] - plain["alloc_python_bytes_per_op"]
        == object.__basicsize__
    )
    for got in (plain, extra):
        assert got["alloc_native_calls_per_op"] == 1  # the one-off 1000 bytes cancel
        assert got["alloc_native_bytes_per_op"] == 64
        assert got["alloc_native_net_bytes"] == 4000 * 64 + 1000
        assert got["alloc_native_peak_bytes"] == got["alloc_native_net_bytes"]


@pytest.mark.slow
def test_c_linear_inserts_show_their_table_in_native_allocations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from mapbench.cli import main

    argv = ["measure", "c-linear", "--workload", "insert", "--size", "100000", "--repeat", "1"]
    assert main([*argv, "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    got = {m["name"]: m["value"] for m in result["metrics"]}

    from mapbench.impls.cmaps import CMap

    # The table the C code lays out at that capacity: its slots plus its metadata bytes.
    same = CMap("linear", capacity=int(got["capacity"]))
    layout = same.layout()
    same.close()
    assert layout["units"] == got["capacity"]
    table = layout["unit_bytes"] * layout["units"] + layout["meta_bytes"]
    assert got["alloc_native_net_bytes"] >= table
    assert got["alloc_native_peak_bytes"] >= table
    assert got["alloc_native_calls_per_op"] > 0  # a resize falls in the second quarter
    # The ctypes call of each insert asks nothing of Python's allocator (memray's profile hook
    # once made it read >= 1: the frame objects it makes CPython create).
    assert got["alloc_python_calls_per_op"] == 0


@pytest.mark.parametrize("size", [600, 1000, 1500])
@pytest.mark.parametrize("workload", ["lookup-hit", "lookup-miss", "delete", "iterate"])
def test_the_harness_allocates_nothing_per_operation(workload: str, size: int) -> None:
    """dict lookups, deletes and iteration allocate nothing: neither may the run's bookkeeping
    (range objects, ints past CPython's small-int cache at some prefix lengths only)."""
    case = get_workload(workload).prepare(parse_spec("dict").create, size, "random-int")
    got = _by_name(AllocationsPerOp().collect(case))
    case.close()
    assert got["alloc_python_calls_per_op"] == got["alloc_python_bytes_per_op"] == 0
    assert got["alloc_native_calls_per_op"] == 0
