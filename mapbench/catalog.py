"""Every metric mapbench produces, defined once: title, unit, kind, producing pass, GC policy.

Collectors create measurements through `measurement()`, so a metric's unit and kind come from
here and nowhere else; reports take titles from here; docs/metrics.md is checked against it.
A metric is "deterministic" only where a test proves it repeats exactly with the hash seed and
key seed pinned (tests/test_measure_paths.py); everything else is "noisy".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mapbench.schema import GcPolicy, Kind, Measurement


@dataclass(frozen=True)
class MetricInfo:
    """What one metric is: a human title, its unit and kind, which pass produces it and how."""

    name: str
    title: str
    unit: str
    kind: Kind
    source: str  # the timing loop ("timing"), a collector's name, or "instructions"
    gc: GcPolicy
    description: str
    higher_is_better: bool = False


def _family(
    source: str, gc: GcPolicy, rows: tuple[tuple[str, str, str, Kind, str], ...]
) -> list[MetricInfo]:
    return [MetricInfo(n, t, u, k, source, gc, d) for n, t, u, k, d in rows]


_GC_NOTE = "per run, GC on (one run of the case, as the case tuned the collector)"
_HALVES = "the first half of a run minus its first quarter, so once-per-run allocations cancel"
_PER_OP = f"(memray; {_HALVES})"
# Python's allocator is counted by a hook on it, never under a profile hook (which would count
# a frame object per Python-level call: the measurer, not the code).
_PER_OP_PYTHON = f"(an allocator hook, no profile hook; {_HALVES})"

_METRICS = [
    *_family("timing", "off", (
        ("time", "Time per operation", "s", "noisy",
         "wall-clock seconds per operation of one run of the workload (perf_counter), GC paused"),
        ("cpu_time", "CPU time per operation", "s", "noisy",
         "CPU seconds of the measuring thread per operation of one run (thread_time; of every "
         "thread, process_time, for a workload run by worker threads), GC "
         "paused: blind to time spent waiting for a core"),
        ("run_queue", "Run-queue delay per operation", "s", "noisy",
         "seconds per operation the measuring thread was runnable but waiting for a core during "
         "one timed run (/proc/thread-self/schedstat, Linux): CPU time + this ≈ wall time means "
         "contention, a remainder means the work slept; a condition, never given a verdict"),
        ("context_switches", "Involuntary context switches per run", "switches", "noisy",
         "times the OS took the measuring thread's core away during one timed run (getrusage "
         "ru_nivcsw): a condition of the machine, never given a verdict"),
        ("voluntary_switches", "Voluntary context switches per run", "switches", "noisy",
         "times the measuring thread gave up its core to wait (I/O, a lock, sleep) during one "
         "timed run (getrusage ru_nvcsw): a condition of the machine, never given a verdict"),
        ("load_average", "Load average", "tasks", "noisy",
         "the machine's 1-minute load average (runnable tasks, all cores) after the timed runs: "
         "a condition of the machine, never given a verdict"),
    )),
    *_family("gc", "on", (
        *(
            row
            for gen in (0, 1, 2)
            for row in (
                (f"gc_collections_gen{gen}", f"GC collections, generation {gen}", "collections",
                 "deterministic", f"collections of generation {gen}, {_GC_NOTE}"),
                (f"gc_pause_total_gen{gen}", f"GC pause total, generation {gen}", "s", "noisy",
                 f"seconds spent in generation-{gen} collections, {_GC_NOTE}"),
                (f"gc_pause_max_gen{gen}", f"Longest GC pause, generation {gen}", "s", "noisy",
                 f"the longest generation-{gen} collection of one run (0: none), GC on"),
            )
        ),
        ("gc_collections", "GC collections", "collections", "deterministic",
         f"collections of any generation, {_GC_NOTE}"),
        ("gc_examined_objects", "Objects examined by the GC", "objects", "noisy",
         "objects in the collected generations when each collection started, summed over the "
         f"collections, {_GC_NOTE}; counted by mapbench (gc.get_objects), since no interpreter "
         "from 3.10 to 3.13 reports it; a count of the whole process, the measurer's objects "
         "included, so not exact"),
        ("gc_collected_objects", "Objects collected by the GC", "objects", "deterministic",
         f"unreachable objects freed by collections, {_GC_NOTE}"),
        ("gc_uncollectable_objects", "Uncollectable objects", "objects", "deterministic",
         f"objects the GC found uncollectable, {_GC_NOTE}"),
        ("gc_tracked_objects", "Objects the GC tracks", "objects", "noisy",
         "objects in the three generations after the run (frozen ones excluded): what the next "
         "full collection examines; the whole process's, the measurer's included, so not exact"),
        ("gc_frozen_objects", "Frozen objects", "objects", "noisy",
         "objects in the permanent generation during the run (gc.freeze()): never examined; the "
         "whole process's, so not exact"),
        ("gc_pause_total", "GC pause total", "s", "noisy", f"seconds spent collecting, {_GC_NOTE}"),
        ("gc_pause_cpu_total", "GC pause CPU time total", "s", "noisy",
         f"CPU seconds of the measuring thread spent collecting, {_GC_NOTE}: blind to time "
         "spent waiting for a core"),
        ("gc_pause_cpu_max", "Longest GC pause, CPU time", "s", "noisy",
         "CPU seconds of the collection that took most of them, in one run (0: none)"),
        ("gc_pause_cpu_max_gen2", "Longest full collection, CPU time", "s", "noisy",
         "CPU seconds of the generation-2 collection that took most of them, in one run "
         "(0: none)"),
        ("gc_pause_mean", "GC pause mean", "s", "noisy",
         "mean seconds per collection, over one run's collections"),
        ("gc_pause_p50", "GC pause median", "s", "noisy",
         "median seconds per collection, over one run's collections"),
        ("gc_pause_p90", "GC pause p90", "s", "noisy",
         "90th percentile of seconds per collection, over one run's collections"),
        ("gc_pause_p99", "GC pause p99", "s", "noisy",
         "99th percentile of seconds per collection, over one run's collections"),
        ("gc_pause_max", "GC pause max", "s", "noisy", "the longest collection of one run"),
        ("time_gc_on", "Time per operation, GC on", "s", "noisy",
         "wall-clock seconds per operation of the GC pass's one run, collections included: "
         "the GC-on view of `time` (which pauses the GC)"),
    )),
    *_family("blocks", "off", (
        ("allocated_blocks_net", "Allocated blocks (net)", "blocks", "deterministic",
         "sys.getallocatedblocks() after one run minus before it, after an untimed warm-up run, "
         "GC paused: Python's small-object blocks the run allocated and kept"),
    )),
    *_family("tracemalloc", "off", (
        ("alloc_net_bytes", "Bytes allocated and kept (Python)", "B", "deterministic",
         "bytes still held after one run, of those allocated during it, traced by tracemalloc "
         "(Python's allocators only: native malloc is invisible to it)"),
        ("alloc_peak_bytes", "Peak bytes allocated (Python)", "B", "deterministic",
         "highest traced memory during one run above its start (tracemalloc)"),
        ("alloc_live_blocks", "Blocks allocated and kept (Python)", "blocks", "deterministic",
         "memory blocks allocated during one run and still held after it (tracemalloc)"),
    )),
    *_family("allocations", "off", (
        ("alloc_python_calls_per_op", "Allocation calls per operation (Python allocator)",
         "alloc/op", "deterministic",
         f"calls to Python's allocator (PyMem/PyObject malloc, calloc, realloc) per operation "
         f"{_PER_OP_PYTHON}; objects reused from CPython's free lists are no calls"),
        ("alloc_python_bytes_per_op", "Bytes allocated per operation (Python allocator)",
         "B/op", "deterministic",
         "bytes those calls asked for (a realloc counts its new size) per operation "
         f"{_PER_OP_PYTHON}"),
        ("alloc_native_calls_per_op", "Allocation calls per operation (native: malloc, mmap)",
         "alloc/op", "deterministic",
         "calls to malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc, "
         f"pvalloc and mmap by code outside Python's allocator (a C map, libc) per operation "
         f"{_PER_OP}"),
        ("alloc_native_bytes_per_op", "Bytes allocated per operation (native: malloc, mmap)",
         "B/op", "deterministic",
         "bytes those native calls asked for (mmap lengths rounded up to pages) per operation "
         f"{_PER_OP}"),
        ("alloc_native_net_bytes", "Bytes allocated and kept (native: malloc, mmap)", "B",
         "deterministic",
         "native bytes (malloc family and mmap, memray) allocated during one run and still held "
         "after it"),
        ("alloc_native_peak_bytes", "Peak bytes allocated (native: malloc, mmap)", "B",
         "deterministic",
         "highest native memory allocated during one run and held at once (memray)"),
    )),
    *_family("latency", "on", (
        ("latency_p50", "Latency p50", "s", "noisy", "median time of one operation, timed alone"),
        ("latency_p99", "Latency p99", "s", "noisy", "99th percentile of one operation's time"),
        ("latency_p999", "Latency p99.9", "s", "noisy", "99.9th percentile of an operation's time"),
        ("latency_max", "Latency max", "s", "noisy", "the slowest operation of the run"),
        ("latency_mean", "Latency mean", "s", "noisy", "mean seconds of one timed operation"),
        ("latency_spikes", "Latency spikes", "ops", "noisy",
         "operations slower than 10 times the median"),
        ("latency_spikes_resize", "Spikes with a resize", "ops", "noisy",
         "spikes during which the map's table was resized or rebuilt: the same operations "
         "replayed from the same state, the table's identity (a dict's keys object; capacity "
         "and resize count from probe statistics) read before and after each spike"),
        ("latency_spikes_gc", "Spikes with a GC collection", "ops", "noisy",
         "spikes during which a garbage collection ran (gc.callbacks)"),
        ("latency_spikes_preempted", "Spikes with preemption", "ops", "noisy",
         "spikes during which the thread was switched out involuntarily (getrusage "
         "ru_nivcsw, read after each operation, untimed)"),
        ("latency_spikes_page_faults", "Spikes with page faults", "ops", "noisy",
         "spikes during which the thread took minor page faults, such as first touches of new "
         "memory (getrusage ru_minflt)"),
        ("latency_spikes_unexplained", "Spikes of no known cause", "ops", "noisy",
         "spikes with none of the causes above (a spike may have several)"),
        ("latency_timer_overhead", "Timer overhead", "s", "noisy",
         "median time of an empty timed call (included in every latency figure)"),
        *(
            row
            for role in ("read", "write")
            for row in (
                (f"latency_{role}_p50", f"{role.capitalize()} latency p50", "s", "noisy",
                 f"median time of one {role} operation, over every thread's {role}s (cases "
                 "that tell reads from writes: plans, concurrent and long-writer workloads)"),
                (f"latency_{role}_p99", f"{role.capitalize()} latency p99", "s", "noisy",
                 f"99th percentile of one {role} operation's time, every thread's"),
                (f"latency_{role}_p999", f"{role.capitalize()} latency p99.9", "s", "noisy",
                 f"99.9th percentile of one {role} operation's time, every thread's"),
                (f"latency_{role}_max", f"{role.capitalize()} latency max", "s", "noisy",
                 f"the slowest {role} operation of the run"),
                (f"latency_{role}_spikes", f"{role.capitalize()} spikes", "ops", "noisy",
                 f"{role} operations slower than 10 times the median {role}"),
            )
        ),
    )),
    *_family("memory", "off", (
        ("memory_traced_bytes_per_entry", "Memory per entry (Python)", "B", "deterministic",
         "bytes that filling an empty map with the case's keys adds through Python's allocators, "
         "per entry (tracemalloc; keys and values allocated beforehand, the empty map excluded)"),
        ("memory_traced_peak_bytes_per_entry", "Peak memory per entry while filling (Python)",
         "B", "deterministic", "tracemalloc's peak while filling (resizes), per entry"),
        ("memory_native_bytes_per_entry", "Memory per entry (native: malloc, anonymous mmap)",
         "B", "deterministic",
         "bytes that filling adds and keeps through native code's malloc family and anonymous "
         "mmap (whole pages), per entry (memray; what Python's allocator asks of malloc is in "
         "the Python figure, not here)"),
        ("memory_bytes_per_entry", "Memory per entry", "B", "deterministic",
         "the Python and native figures added: every byte filling adds and keeps outside file "
         "mappings, per entry"),
        ("memory_file_mapped_bytes_per_entry", "File-backed mappings per entry", "B",
         "deterministic",
         "bytes of file-backed mappings the fill made and left mapped (whole pages), per entry "
         "(memray's mmap calls, told apart by /proc/self/maps)"),
        ("memory_file_bytes_per_entry", "File bytes per entry", "B", "deterministic",
         "size of a persistent map's file per entry"),
    )),
    *_family("probes", "", (
        ("probe_hit_mean", "Probes per hit (mean)", "probes", "deterministic",
         "mean probes to find a stored key, over every stored key, counting the last probe"),
        ("probe_hit_max", "Probes per hit (max)", "probes", "deterministic",
         "the longest search for a stored key"),
        ("probe_miss_mean", "Probes per miss (mean)", "probes", "deterministic",
         "mean probes of an unsuccessful search, over every home position"),
        ("probe_miss_max", "Probes per miss (max)", "probes", "deterministic",
         "the longest unsuccessful search"),
        ("probe_hit_histogram", "Hit probe-length histogram", "probes", "deterministic",
         "value: mean; samples[i]: stored keys found after exactly i probes"),
        ("probe_miss_histogram", "Miss probe-length histogram", "probes", "deterministic",
         "value: mean; samples[i]: home positions whose miss takes exactly i probes"),
        ("load_factor", "Load factor", "ratio", "deterministic",
         "entries over key slots of the table after the run"),
        ("capacity", "Capacity", "slots", "deterministic",
         "key slots of the table (buckets or groups times their slots)"),
        ("tombstones", "Tombstones", "slots", "deterministic", "slots marked deleted"),
        ("resizes", "Resizes", "resizes", "deterministic",
         "table resizes the map counted (maps that do not count them report none)"),
    )),
    MetricInfo("instructions", "Instructions per operation", "instructions/op",
               "deterministic", "instructions", "off",
               "instructions per operation under valgrind's callgrind, counted inside the "
               "case's runs only; a first run's one-off work cancelled by subtracting a process "
               "with fewer runs"),
]  # fmt: skip

CATALOG: Mapping[str, MetricInfo] = MappingProxyType({m.name: m for m in _METRICS})
# Table statistics a map reports beyond the standard ones (ProbeStats.extra) become
# `probe_<name>` metrics with this title prefix.
EXTRA_PREFIX = "probe_"
_HIGHER_IS_BETTER = frozenset({"load_factor"})
# What the machine was doing while a case was timed: read by the noise verdict, never judged.
_CONDITIONS = frozenset({"run_queue", "context_switches", "voluntary_switches", "load_average"})


def info(name: str) -> MetricInfo:
    """The catalog entry of `name`; `probe_<extra>` statistics get a generic entry."""
    found = CATALOG.get(name)
    if found is not None:
        return found
    if name.startswith(EXTRA_PREFIX):
        words = name.removeprefix(EXTRA_PREFIX).replace("_", " ")
        return MetricInfo(
            name, f"Table: {words}", "", "deterministic", "probes", "",
            "a statistic of the table the map reports itself",
        )  # fmt: skip
    raise KeyError(f"metric {name!r} is not in the catalog")


def title(name: str) -> str:
    """The human title of a metric; unknown names (other tools' metrics) read as words."""
    try:
        return info(name).title
    except KeyError:
        return name.replace("_", " ").capitalize()


def higher_is_better(name: str) -> bool:
    """Whether a bigger value of this metric is an improvement (a fuller table, for example)."""
    return name in _HIGHER_IS_BETTER


def per_entry(name: str) -> bool:
    """Whether a metric is a fill's total divided by its entries (memory per entry)."""
    return name.startswith("memory_") and name.endswith("_per_entry")


def is_condition(name: str) -> bool:
    """Whether a metric describes the machine while measuring (load), not the measured code."""
    return name in _CONDITIONS


def measurement(
    name: str,
    value: float,
    *,
    samples: tuple[float, ...] = (),
    note: str = "",
    kind: Kind | None = None,
    loop: str = "mapbench",
    groups: tuple[int, ...] = (),
) -> Measurement:
    """A measurement of a catalogued metric, with the catalog's unit, kind and GC policy.

    `kind` overrides only to say "modelled" (a number computed from a model, not measured);
    `loop` names the code that ran the measured runs when it is not mapbench's own; `groups`
    how many consecutive samples each worker process took (see `Measurement`).
    """
    entry = info(name)
    return Measurement(
        name, float(value), entry.unit, kind or entry.kind, samples, note, entry.gc, loop, groups
    )


def reference_table() -> str:
    """The catalog as the Markdown table in docs/metrics.md (a test keeps the two equal)."""
    lines = [
        "| metric | title | unit | kind | produced by | GC | what it is |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in CATALOG.values():
        source = "timing loop" if m.source == "timing" else f"`{m.source}`"
        lines.append(
            f"| `{m.name}` | {m.title} | {m.unit} | {m.kind} | {source} | {m.gc or 'n/a'} | "
            f"{m.description} |"
        )
    return "\n".join(lines)


__all__ = [
    "CATALOG",
    "MetricInfo",
    "higher_is_better",
    "info",
    "is_condition",
    "measurement",
    "per_entry",
    "reference_table",
    "title",
]
