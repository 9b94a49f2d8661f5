"""The default asv suite: every registered map through every workload.

Every benchmark is parametrized by the whole case (map, workload, key kind, size), so each asv
result maps to one `mapbench.measure.CaseId`. Times are asv's own loop around one run of the
workload with the GC off (asv's `time_`), read back as seconds per operation; GC pauses,
allocations and probe lengths are `track_` benchmarks that return one figure of a
`mapbench.measure` collector pass, under that metric's GC policy (docs/metrics.md). Settings are
chosen for a noisy 2-core machine, see docs/suites.md.
"""

from __future__ import annotations

from mapbench.workloads import KEY_KINDS

from ._harness import DEFAULT_KEY_KIND, MAPS, WORKLOAD_NAMES, CaseBenchmark, track


class TimeWorkloads(CaseBenchmark):
    """Seconds per run of each workload on random int keys, at an in-cache and a larger size."""

    params = (MAPS, WORKLOAD_NAMES, (DEFAULT_KEY_KIND,), (1_000, 10_000))
    # One run per sample, each after its own setup (a fresh or refilled map): asv_runner 0.3.2
    # re-runs setup between timed calls. Minimums over many short samples, spread over two
    # processes, resist the bursts of noise on this machine better than a few long ones.
    number = 1
    repeat = (5, 25, 1.5)
    rounds = 2
    warmup_time = 0.05

    def setup(self, map_name: str, workload: str, key_kind: str, size: int) -> None:
        super().setup(map_name, workload, key_kind, size)
        self.case.reset()

    def time_run(self, map_name: str, workload: str, key_kind: str, size: int) -> None:
        self.case.run()


class TimeKeyKinds(TimeWorkloads):
    """Seconds per 10,000 hit lookups with each other kind of key (hashing and comparison cost)."""

    params = (
        MAPS,
        ("lookup-hit",),
        tuple(k for k in KEY_KINDS if k != DEFAULT_KEY_KIND),
        (10_000,),
    )


class GcPauses(CaseBenchmark):
    """GC pauses and collections during one write-heavy run, GC on (seconds, counts per run):
    int values (nothing for the collector to follow) and records (on the heap in a dict, the
    same data as JSON bytes in a C or mmap map), at 10,000 entries."""

    param_names = (*CaseBenchmark.param_names, "value_kind")
    params = (MAPS, ("write-heavy",), (DEFAULT_KEY_KIND,), (10_000,), ("int", "record"))
    timeout = 600
    track_gc_pause_total = track("gc", "gc_pause_total")
    # No collection, no pause: 0 rather than skipped, so a new pause shows as a step.
    track_gc_pause_max = track("gc", "gc_pause_max", missing=0.0)
    track_gc_collections = track("gc", "gc_collections")
    track_gc_collections_gen2 = track("gc", "gc_collections_gen2")
    track_gc_pause_max_gen2 = track("gc", "gc_pause_max_gen2")


class Allocations(CaseBenchmark):
    """What one insert run of 10,000 keys allocates (tracemalloc and the allocator's counter)."""

    params = (MAPS, ("insert",), (DEFAULT_KEY_KIND,), (10_000,))
    track_alloc_peak_bytes = track("tracemalloc", "alloc_peak_bytes")
    track_alloc_net_bytes = track("tracemalloc", "alloc_net_bytes")
    track_alloc_live_blocks = track("tracemalloc", "alloc_live_blocks")
    track_allocated_blocks_net = track("blocks", "allocated_blocks_net")


class MemoryPerEntry(CaseBenchmark):
    """Bytes per entry of a map filled with 10,000 keys (Python's allocators; malloc)."""

    params = (MAPS, ("insert",), (DEFAULT_KEY_KIND,), (10_000,))
    track_memory_traced_bytes_per_entry = track("memory", "memory_traced_bytes_per_entry")
    track_memory_bytes_per_entry = track("memory", "memory_bytes_per_entry")


class ProbeLengths(CaseBenchmark):
    """Mean probes per hit and per miss of a filled table (exact; str keys need the pinned seed)."""

    params = (MAPS, ("insert",), ("random-int", "short-str"), (10_000, 100_000))
    # cow copies its table on every write: 100,000 inserts are O(n^2), minutes per process (they
    # timed out at 300 s under load); its table is a dict, whose probe lengths `dict` shows.
    skip_params = tuple(("cow", "insert", kind, 100_000) for kind in ("random-int", "short-str"))
    needs = ("probes", "probe_hit_mean")  # maps without probe statistics are skipped in setup
    track_probe_hit_mean = track("probes", "probe_hit_mean")
    track_probe_miss_mean = track("probes", "probe_miss_mean")
    track_probe_hit_max = track("probes", "probe_hit_max")


class PeakMem(CaseBenchmark):
    """Peak resident memory of a process that fills a map with 100,000 int keys (bytes)."""

    params = (MAPS, ("lookup-hit",), (DEFAULT_KEY_KIND,), (100_000,))

    def peakmem_fill(self, map_name: str, workload: str, key_kind: str, size: int) -> None:
        self.case.reset()  # the first reset loads every key
