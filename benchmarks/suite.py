"""The default asv suite: every registered map through every workload.

Times are seconds per run of a whole workload (N operations), with asv's GC-off timer; GC
pauses, allocations and probe lengths are `track_` benchmarks (GC on) with units. Settings are
chosen for a noisy 2-core machine, see docs/suites.md.
"""

from __future__ import annotations

from mapbench.workloads import KEY_KINDS, Case

from ._harness import DEFAULT_KEY_KIND, MAPS, WORKLOAD_NAMES, measure, open_case


class _CaseSetup:
    """Builds (once per process) and resets (before every sample) the case under test."""

    case: Case
    key_kind = DEFAULT_KEY_KIND

    def setup(self, map_name: str, workload: str, size: int) -> None:
        self.case = open_case(map_name, workload, self.key_kind, size)
        self.case.reset()


class TimeWorkloads(_CaseSetup):
    """Seconds per run of each workload on random int keys, at an in-cache and a larger size."""

    params = (MAPS, WORKLOAD_NAMES, (1_000, 10_000))
    param_names = ("map", "workload", "size")
    # One run per sample, each after its own setup (a fresh or refilled map): asv_runner 0.3.2
    # re-runs setup between timed calls. Minimums over many short samples, spread over two
    # processes, resist the bursts of noise on this machine better than a few long ones.
    number = 1
    repeat = (5, 25, 1.5)
    rounds = 2
    warmup_time = 0.05
    timeout = 300

    def time_run(self, map_name: str, workload: str, size: int) -> None:
        self.case.run()


class TimeKeyKinds(_CaseSetup):
    """Seconds per 10,000 hit lookups with each other kind of key (hashing and comparison cost)."""

    params = (MAPS, ("lookup-hit",), tuple(k for k in KEY_KINDS if k != DEFAULT_KEY_KIND), (10_000,))
    param_names = ("map", "workload", "key_kind", "size")
    number = 1
    repeat = (5, 25, 1.5)
    rounds = 2
    warmup_time = 0.05

    def setup(self, map_name: str, workload: str, key_kind: str, size: int) -> None:  # type: ignore[override]
        self.case = open_case(map_name, workload, key_kind, size)
        self.case.reset()

    def time_run(self, map_name: str, workload: str, key_kind: str, size: int) -> None:
        self.case.run()


class GcPauses:
    """GC pauses and collections during a write-heavy run, with the GC on (seconds, counts)."""

    params = (MAPS, ("insert", "mixed-50-50"))
    param_names = ("map", "workload")
    size = 10_000
    timeout = 300

    def setup(self, map_name: str, workload: str) -> None:
        self.case = open_case(map_name, workload, DEFAULT_KEY_KIND, self.size)

    def track_gc_pause_total(self, map_name: str, workload: str) -> float:
        return measure(self.case, "gc", "gc_pause_total")

    track_gc_pause_total.unit = "seconds"  # type: ignore[attr-defined]

    def track_gc_pause_max(self, map_name: str, workload: str) -> float:
        # No collection, no pause: report 0 rather than skip, so a new pause shows as a step.
        try:
            return measure(self.case, "gc", "gc_pause_max")
        except NotImplementedError:
            return 0.0

    track_gc_pause_max.unit = "seconds"  # type: ignore[attr-defined]

    def track_gc_collections(self, map_name: str, workload: str) -> float:
        return measure(self.case, "gc", "gc_collections")

    track_gc_collections.unit = "collections"  # type: ignore[attr-defined]


class Allocations:
    """What one insert run of 10,000 keys allocates (tracemalloc and the allocator's counter)."""

    params = (MAPS,)
    param_names = ("map",)
    size = 10_000
    timeout = 300

    def setup(self, map_name: str) -> None:
        self.case = open_case(map_name, "insert", DEFAULT_KEY_KIND, self.size)

    def track_alloc_peak_bytes(self, map_name: str) -> float:
        return measure(self.case, "tracemalloc", "alloc_peak_bytes")

    track_alloc_peak_bytes.unit = "bytes"  # type: ignore[attr-defined]

    def track_alloc_net_bytes(self, map_name: str) -> float:
        return measure(self.case, "tracemalloc", "alloc_net_bytes")

    track_alloc_net_bytes.unit = "bytes"  # type: ignore[attr-defined]

    def track_allocated_blocks_net(self, map_name: str) -> float:
        return measure(self.case, "blocks", "allocated_blocks_net")

    track_allocated_blocks_net.unit = "blocks"  # type: ignore[attr-defined]


class ProbeLengths:
    """Mean probes per hit and per miss of a filled table (exact; str keys need the pinned seed)."""

    params = (MAPS, ("random-int", "short-str"), (10_000, 100_000))
    param_names = ("map", "key_kind", "size")
    timeout = 300

    def setup(self, map_name: str, key_kind: str, size: int) -> None:
        self.case = open_case(map_name, "lookup-hit", key_kind, size)

    def track_probe_hit_mean(self, map_name: str, key_kind: str, size: int) -> float:
        return measure(self.case, "probes", "probe_hit_mean")

    track_probe_hit_mean.unit = "probes"  # type: ignore[attr-defined]

    def track_probe_miss_mean(self, map_name: str, key_kind: str, size: int) -> float:
        return measure(self.case, "probes", "probe_miss_mean")

    track_probe_miss_mean.unit = "probes"  # type: ignore[attr-defined]


class PeakMem:
    """Peak resident memory of a process that fills a map with 100,000 int keys (bytes)."""

    params = (MAPS,)
    param_names = ("map",)
    timeout = 300

    def setup(self, map_name: str) -> None:
        self.case = open_case(map_name, "lookup-hit", DEFAULT_KEY_KIND, 100_000)

    def peakmem_fill(self, map_name: str) -> None:
        self.case.reset()  # the first reset loads every key
