"""Each collector measures something real: GC work, allocated blocks, bytes, probe lengths."""

from __future__ import annotations

import gc
import platform
import tracemalloc
from typing import Any

import pytest

from mapbench.measure import COLLECTORS, MetricsError, collect
from mapbench.measure.allocations import AllocatedBlocks, TracemallocAllocations
from mapbench.measure.gc_pauses import GcPauses
from mapbench.measure.memory import MemoryPerEntry
from mapbench.measure.probes import ProbeLengths
from mapbench.protocol import Map, ProbeStats
from mapbench.registry import parse_spec, registry
from mapbench.schema import Measurement
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

    def run_range(self, start: int, stop: int) -> None:
        m, window = self.map, len(self.keys)
        for i in range(start, stop):
            m[i % window] = _Node()


def test_cycles_show_gen2_pauses_and_collected_objects() -> None:
    assert gc.isenabled()
    case = CycleChurnCase(window=20_000, ops=600_000)
    got = _by_name(GcPauses().collect(case))
    case.close()
    assert got["gc_collections_gen2"].value >= 1
    assert got["gc_pause_total_gen2"].value > 0
    assert got["gc_collected_objects"].value >= 100_000
    assert got["gc_collections"].value == sum(
        got[f"gc_collections_gen{g}"].value for g in (0, 1, 2)
    )
    assert 0 < got["gc_pause_p50"].value <= got["gc_pause_p99"].value <= got["gc_pause_max"].value
    note = (
        f"gc threshold {gc.get_threshold()}, {gc.get_freeze_count()} objects frozen, "
        f"Python {platform.python_version()}"
    )
    assert all(m.note == note and m.gc == "on" for m in got.values())
    assert got["gc_pause_max"].value == max(got[f"gc_pause_max_gen{g}"].value for g in (0, 1, 2))
    # Every collection examines at least what it frees.
    assert got["gc_examined_objects"].value >= got["gc_collected_objects"].value
    assert got["gc_tracked_objects"].value >= 20_000  # the window of cyclic nodes
    assert got["time_gc_on"].value > 0
    assert got["gc_collections_gen2"].kind == "deterministic"
    assert got["gc_pause_max"].kind == "noisy"


def test_the_gc_pass_runs_with_the_gc_on_and_restores_its_state() -> None:
    case = CycleChurnCase(window=100, ops=50_000)
    gc.disable()
    try:
        got = _by_name(GcPauses().collect(case))
        assert not gc.isenabled()
    finally:
        gc.enable()
        case.close()
    assert got["gc_collections"].value > 0


class KeepObjects(Case):
    """Each run allocates `ops` objects and keeps them until the next reset."""

    fill = False
    destructive = False

    def __init__(self, n: int) -> None:
        super().__init__(_dict, _dict(), [], n)
        self.kept: list[object] = []

    def reset(self) -> None:
        self.kept = []
        super().reset()

    def run_range(self, start: int, stop: int) -> None:
        self.kept = [object() for _ in range(start, stop)]


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_n_allocated_objects_show_about_n_blocks(n: int) -> None:
    case = KeepObjects(n)
    net = _by_name(AllocatedBlocks().collect(case))["allocated_blocks_net"].value
    got = _by_name(TracemallocAllocations().collect(case))
    case.close()
    assert n <= net <= n * 1.01 + 100  # plus the list's own buffer and a few interpreter blocks
    assert n <= got["alloc_live_blocks"].value <= n * 1.01 + 100
    assert got["alloc_net_bytes"].value >= 16 * n + 8 * n  # object headers + the list's pointers
    assert got["alloc_peak_bytes"].value >= got["alloc_net_bytes"].value
    assert not tracemalloc.is_tracing()


def test_tracemalloc_refuses_to_nest() -> None:
    tracemalloc.start()
    try:
        case = KeepObjects(10)
        with pytest.raises(MetricsError, match="already tracing"):
            TracemallocAllocations().collect(case)
        case.close()
    finally:
        tracemalloc.stop()


def test_memory_per_entry_of_a_dict_matches_its_table() -> None:
    case = get_workload("insert").prepare(_dict, 50_000, "random-int")
    got = _by_name(MemoryPerEntry().collect(case))
    case.close()
    per_entry = got["memory_traced_bytes_per_entry"].value
    # 50,000 entries: 131,072 four-byte indices plus 87,381 entries of 24 bytes (3.10: + header).
    table = 131_072 * 4 + 87_381 * 24
    assert table / 50_000 <= per_entry <= (table + 2_000) / 50_000
    assert got["memory_traced_peak_bytes_per_entry"].value >= per_entry
    assert got["memory_bytes_per_entry"].value >= per_entry


@pytest.mark.skipif(
    not registry().get("c-gobucket") or not registry()["c-gobucket"].available,
    reason="C maps are not built",
)
def test_memory_per_entry_of_c_maps_counts_malloc_and_mmap() -> None:
    """c-gobucket's buckets come from mmap(): counted, its figure is within 20% of the others'."""
    per_entry = {}
    for spec in ("c-linear", "c-quadratic", "c-double", "c-swiss", "c-gobucket"):
        case = get_workload("insert").prepare(parse_spec(spec).create, 10_000, "random-int")
        got = _by_name(MemoryPerEntry().collect(case))
        case.close()
        assert got["memory_traced_bytes_per_entry"].value < 1  # nothing through Python's
        assert got["memory_native_bytes_per_entry"].value >= 16  # an int64 key and value
        assert got["memory_bytes_per_entry"].value == pytest.approx(
            got["memory_native_bytes_per_entry"].value + got["memory_traced_bytes_per_entry"].value
        )
        assert got["memory_file_mapped_bytes_per_entry"].value == 0
        per_entry[spec] = got["memory_bytes_per_entry"].value
    gobucket = per_entry.pop("c-gobucket")
    for spec, other in per_entry.items():
        assert abs(gobucket / other - 1) <= 0.2, (spec, other, gobucket)


def test_probe_lengths_of_a_dict_are_exact_and_deterministic() -> None:
    def run() -> dict[str, Measurement]:
        case = get_workload("insert").prepare(_dict, 5_000, "random-int", seed=9)
        try:
            return _by_name(collect(case, ["probes"]).measurements)
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
        got = _by_name(collect(case, ["probes"]).measurements)
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
        got = collect(case, ["probes"]).measurements
    finally:
        case.close()
    assert got and all(m.kind == "modelled" for m in got)
    assert all("modelled" in m.note for m in got if m.name.startswith("probe_"))


class _CountingCase(Case):
    fill = False

    def __init__(self) -> None:
        super().__init__(_dict, _dict(), [1, 2, 3], 3)
        self.resets = 0
        self.runs: list[Any] = []

    def reset(self) -> None:
        self.resets += 1
        super().reset()

    def run_range(self, start: int, stop: int) -> None:
        self.runs.append((start, stop, tracemalloc.is_tracing()))
        for k in self.keys[start:stop]:
            self.map[k] = k


def test_collect_resets_before_each_pass_and_keeps_passes_apart() -> None:
    case = _CountingCase()
    names = ["gc", "blocks", "tracemalloc", "latency", "probes"]
    out = collect(case, names).measurements
    case.close()
    # one reset per pass, plus the warm-up run's reset of the two allocation passes and the
    # latency pass's replay (which tells resizes apart)
    assert case.resets == len(names) + 3
    traced = [tracing for _, _, tracing in case.runs]
    assert traced.count(True) == 1  # only the tracemalloc pass ran under tracemalloc
    assert {m.name.split("_")[0] for m in out} >= {"gc", "allocated", "alloc", "latency", "probe"}
    assert set(COLLECTORS) == {
        "gc", "blocks", "tracemalloc", "allocations", "latency", "memory", "probes"
    }  # fmt: skip


def test_collect_rejects_unknown_collectors_before_running() -> None:
    case = _CountingCase()
    with pytest.raises(MetricsError, match="known: gc"):
        collect(case, ["gc", "nope"])
    case.close()
    assert case.resets == 0


def test_cow_reports_the_probe_statistics_of_its_snapshot_dict() -> None:
    case = get_workload("insert").prepare(parse_spec("cow").create, 10, "seq-int")
    got = _by_name(ProbeLengths().collect(case))
    case.close()
    assert sum(got["probe_hit_histogram"].samples) == 10


class _Opaque:
    """A map with neither probe statistics nor dicts inside: nothing for the probe collector."""

    key_types = (object,)
    value_types = (object,)

    def __init__(self) -> None:
        self._items: list[tuple[Any, Any]] = []

    def __setitem__(self, key: Any, value: Any) -> None:
        self._items.append((key, value))

    def __len__(self) -> int:
        return len(self._items)

    def update(self, other: Any) -> None:
        for k, v in other:
            self[k] = v

    def close(self) -> None:
        pass


def test_a_collector_that_cannot_measure_a_map_is_unavailable_not_fatal() -> None:
    case = get_workload("insert").prepare(_Opaque, 50, "seq-int")  # type: ignore[arg-type]
    found = collect(case, ["probes", "tracemalloc"])
    case.close()
    assert "no probe statistics" in found.unavailable["probes"]
    assert {m.name for m in found.measurements} == {
        "alloc_net_bytes",
        "alloc_peak_bytes",
        "alloc_live_blocks",
    }
