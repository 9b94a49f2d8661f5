"""Each collector measures something real: GC work, allocated blocks, bytes, probe lengths."""

from __future__ import annotations

import gc
import platform
import tracemalloc
from typing import Any

import pytest

from mapbench.measurement import Measurement
from mapbench.metrics import (
    COLLECTORS,
    AllocatedBlocks,
    GcPauses,
    MemoryPerEntry,
    MetricsError,
    ProbeLengths,
    TracemallocAllocations,
    collect,
)
from mapbench.protocol import Map, ProbeStats
from mapbench.registry import parse_spec, registry
from mapbench.workloads import Case, get_workload


def _by_name(ms: list[Measurement]) -> dict[str, Measurement]:
    return {m.name: m for m in ms}


def _dict() -> Map:
    return parse_spec("dict").create()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic GC can free it


class CycleChurnCase(Case):
    """Keeps a window of cyclic objects in the map and replaces them: cyclic garbage that has
    lived long enough to reach the oldest generation, so only gen-2 collections free it."""

    def __init__(self, window: int, ops: int) -> None:
        super().__init__(_dict, _dict(), list(range(window)), ops)

    def _run_range(self, start: int, stop: int) -> None:
        m, window = self.map, len(self.keys)
        for i in range(start, stop):
            m[i % window] = _Node()


def test_cycles_show_gen2_pauses_and_collected_objects() -> None:
    assert gc.isenabled()
    case = CycleChurnCase(window=20_000, ops=600_000)
    case.reset()
    with GcPauses() as collector:
        case.run()
    case.close()
    got = _by_name(collector.measurements())
    assert got["gc_collections_gen2"].value >= 1
    assert got["gc_pause_total_gen2"].value > 0
    assert got["gc_collected_objects"].value >= 100_000
    assert got["gc_collections"].value == sum(
        got[f"gc_collections_gen{g}"].value for g in (0, 1, 2)
    )
    assert 0 < got["gc_pause_p50"].value <= got["gc_pause_p99"].value <= got["gc_pause_max"].value
    note = f"gc threshold {gc.get_threshold()}, gc enabled, Python {platform.python_version()}"
    assert all(m.note == note for m in got.values())
    assert got["gc_collections_gen2"].kind == "deterministic"
    assert got["gc_pause_max"].kind == "noisy"


def test_gc_disabled_is_recorded_and_sees_no_collections() -> None:
    gc.disable()
    try:
        with GcPauses() as collector:
            _ = [_Node() for _ in range(50_000)]
    finally:
        gc.enable()
    got = _by_name(collector.measurements())
    assert got["gc_collections"].value == 0
    assert "gc disabled" in got["gc_collections"].note
    assert "gc_pause_max" not in got


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_n_allocated_objects_show_about_n_blocks(n: int) -> None:
    with AllocatedBlocks() as blocks:
        kept = [object() for _ in range(n)]
    with TracemallocAllocations() as traced:
        kept2 = [object() for _ in range(n)]
    assert len(kept) == len(kept2) == n
    net = _by_name(blocks.measurements())["allocated_blocks_net"].value
    assert n <= net <= n * 1.01 + 100  # plus the list's own buffer and a few interpreter blocks
    got = _by_name(traced.measurements())
    assert n <= got["alloc_live_blocks"].value <= n * 1.01 + 100
    assert got["alloc_net_bytes"].value >= 16 * n + 8 * n  # object headers + the list's pointers
    assert got["alloc_peak_bytes"].value >= got["alloc_net_bytes"].value
    assert not tracemalloc.is_tracing()


def test_tracemalloc_refuses_to_nest() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(MetricsError, match="already tracing"), TracemallocAllocations():
            pass
    finally:
        tracemalloc.stop()


def test_memory_per_entry_of_a_dict_matches_its_table() -> None:
    case = get_workload("insert").prepare(_dict, 50_000, "random-int")
    collector = MemoryPerEntry()
    with collector:
        collector.drive(case)
    case.close()
    got = _by_name(collector.measurements())
    per_entry = got["memory_traced_bytes_per_entry"].value
    # 50,000 entries: 131,072 four-byte indices plus 87,381 entries of 24 bytes (3.10: + header).
    table = 131_072 * 4 + 87_381 * 24
    assert table / 50_000 <= per_entry <= (table + 2_000) / 50_000
    assert got["memory_traced_peak_bytes_per_entry"].value >= per_entry
    assert got["memory_bytes_per_entry"].value >= per_entry


@pytest.mark.skipif(
    not registry().get("c-linear") or not registry()["c-linear"].available,
    reason="C maps are not built",
)
def test_memory_per_entry_sees_c_malloc() -> None:
    case = get_workload("insert").prepare(parse_spec("c-linear").create, 20_000, "seq-int")
    collector = MemoryPerEntry()
    with collector:
        collector.drive(case)
    case.close()
    got = _by_name(collector.measurements())
    if "memory_malloc_bytes_per_entry" not in got:
        pytest.skip("no glibc mallinfo2 here")
    assert got["memory_malloc_bytes_per_entry"].value >= 8  # at least an int64 key per entry
    assert got["memory_bytes_per_entry"].value >= got["memory_traced_bytes_per_entry"].value


def test_probe_lengths_of_a_dict_are_exact_and_deterministic() -> None:
    def run() -> dict[str, Measurement]:
        case = get_workload("insert").prepare(_dict, 5_000, "random-int", seed=9)
        try:
            return _by_name(collect(case, ["probes"]))
        finally:
            case.close()

    first, second = run(), run()
    assert first == second
    hist = first["probe_hit_histogram"]
    assert sum(hist.samples) == 5_000 and hist.samples[0] == 0
    assert first["capacity"].value == 8192
    assert first["load_factor"].value == pytest.approx(5_000 / 8192)
    assert sum(first["probe_miss_histogram"].samples) == 8192
    assert first["probe_hit_max"].value >= first["probe_hit_mean"].value >= 1
    assert {m.kind for m in first.values()} == {"deterministic"}


def test_sharded_probe_lengths_carry_the_shard_imbalance() -> None:
    case = get_workload("lookup-hit").prepare(parse_spec("sharded,shards=8").create, 4000, "bytes")
    try:
        got = _by_name(collect(case, ["probes"]))
    finally:
        case.close()
    assert sum(got["probe_hit_histogram"].samples) == 4000
    assert got["probe_tables"].value == 8
    assert 1.0 <= got["probe_shard_imbalance"].value < 1.5


class _ModelledMap(dict):  # type: ignore[type-arg]
    key_types = (object,)
    value_types = (object,)

    def close(self) -> None:
        pass

    def probe_stats(self) -> ProbeStats:
        return ProbeStats(len(self), 16, "slot", (0, len(self)), (0, 16), source="modelled")


def test_modelled_probe_stats_are_labelled_modelled() -> None:
    case = get_workload("insert").prepare(_ModelledMap, 10, "seq-int")
    try:
        got = collect(case, ["probes"])
    finally:
        case.close()
    assert got and all(m.kind == "modelled" for m in got)
    assert all("modelled" in m.note for m in got if not m.name.endswith("histogram"))


class _CountingCase(Case):
    fill = False

    def __init__(self) -> None:
        super().__init__(_dict, _dict(), [1, 2, 3], 3)
        self.resets = 0
        self.runs: list[Any] = []

    def reset(self) -> None:
        self.resets += 1
        super().reset()

    def _run_range(self, start: int, stop: int) -> None:
        self.runs.append((start, stop, tracemalloc.is_tracing()))
        for k in self.keys[start:stop]:
            self.map[k] = k


def test_collect_resets_before_each_pass_and_keeps_passes_apart() -> None:
    case = _CountingCase()
    names = ["gc", "blocks", "tracemalloc", "latency", "probes"]
    out = collect(case, names)
    case.close()
    assert case.resets == len(names)
    traced = [tracing for _, _, tracing in case.runs]
    assert traced.count(True) == 1  # only the tracemalloc pass ran under tracemalloc
    assert {m.name.split("_")[0] for m in out} >= {"gc", "allocated", "alloc", "latency", "probe"}
    assert set(COLLECTORS) == {"gc", "blocks", "tracemalloc", "latency", "memory", "probes"}


def test_collect_rejects_unknown_collectors_before_running() -> None:
    case = _CountingCase()
    with pytest.raises(MetricsError, match="known: gc"):
        collect(case, ["gc", "nope"])
    case.close()
    assert case.resets == 0


def test_cow_reports_the_probe_statistics_of_its_snapshot_dict() -> None:
    case = get_workload("insert").prepare(parse_spec("cow").create, 10, "seq-int")
    collector = ProbeLengths()
    case.reset()
    collector.drive(case)
    case.close()
    assert collector.measurements()  # cow reports the statistics of its snapshot dict
