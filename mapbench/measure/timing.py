"""The one timing loop: every runner and benchmark script times its work through here.

A timed run is `case.reset()` (untimed) and then `case.run()` between two clock reads. The
garbage collector is collected once before the runs and paused during them ("gc off", as asv's
`time_` benchmarks do): a collection owed to earlier garbage never lands inside one run and not
another; GC pauses are measured by the `gc` collector, with the GC on. Around every run both
clocks are read: wall time (`perf_counter`) and the measuring thread's CPU time (`thread_time`;
for a case run by worker threads, the process's: every thread's, `process_time`), which does not
count time the thread spent waiting for a core on a busy machine. Machine conditions go with
them: per run, the thread's run-queue delay (`/proc/thread-self/schedstat`: time it was runnable
but waiting for a core, Linux; not for a case run by worker threads) and its involuntary and
voluntary context switches (`getrusage`: the OS took its core away / it gave the core up to
wait), and the 1-minute load average after the runs. CPU time + run-queue delay ≈ wall time
means the work only waited for a core (contention: judge CPU time); a remainder means it slept
(I/O, locks, other threads: judge wall time). docs/ci.md has the rules.

Runners differ only in who calls the loop: `mapbench measure` and the `mapbench ci` worker call
`time_runs` ("loop": "mapbench"); pyperf calls `pyperf_time_func` from its own calibrated loop
("loop": "pyperf"), which reads the same clocks and keeps the CPU times and context switches
pyperf has no place for in `PyperfClocks`; asv times `case.run()` with its own timer, also with
the GC off ("loop": "asv"). Every timed run is `_timed_run`. Runs of several worker processes
become one measurement per metric with `across_processes`, whoever started the processes.
"""

from __future__ import annotations

import contextlib
import gc
import math
import resource
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapbench.catalog import measurement
from mapbench.environment import load_average
from mapbench.schema import GcPolicy, Measurement
from mapbench.workloads import Case

GC_POLICY: GcPolicy = "off"
LOOP = "mapbench"
# What a timing pass records for a case in each worker process (see `Runs.measurements`).
TIMING_METRICS = (
    "time", "cpu_time", "run_queue", "context_switches", "voluntary_switches", "load_average",
)  # fmt: skip
# The measuring thread's own counters where the OS keeps them per thread (Linux), else the
# process's.
_RUSAGE_WHO = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


# The measuring thread's scheduler statistics: CPU ns, run-queue wait ns, time slices.
_SCHEDSTAT = Path("/proc/thread-self/schedstat")


def _switches() -> tuple[int, int]:
    """(involuntary, voluntary) context switches of the measuring thread so far."""
    usage = resource.getrusage(_RUSAGE_WHO)
    return usage.ru_nivcsw, usage.ru_nvcsw


def run_queue_ns() -> int | None:
    """Nanoseconds the measuring thread has spent runnable, waiting for a core (None where the
    kernel keeps no scheduler statistics)."""
    try:
        return int(_SCHEDSTAT.read_bytes().split()[1])
    except (OSError, ValueError, IndexError):
        return None


def one_minute_load() -> float:
    """The 1-minute load average (runnable processes, all cores); NaN where the OS has none."""
    loads = load_average()
    return loads[0] if loads else math.nan


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Collect once, then keep the collector off until the block ends (as it was before)."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class Runs:
    """Seconds taken by each timed run of a case (wall and CPU), and operations per run, with
    the conditions they ran in: per run the run-queue delay (seconds; empty where the OS keeps
    none) and involuntary and voluntary context switches, the load average after them."""

    ops: int
    wall: tuple[float, ...]
    cpu: tuple[float, ...]
    switches: tuple[int, ...] = ()
    load: float = math.nan
    run_queue: tuple[float, ...] = ()
    voluntary: tuple[int, ...] = ()

    def measurements(self, loop: str = LOOP) -> list[Measurement]:
        """Seconds per operation, one sample per run, all from this process: "time" (wall) and
        "cpu_time"; then the conditions: "run_queue" (seconds per operation, per run),
        "context_switches" and "voluntary_switches" (per run), "load_average" (once)."""
        note = f"{len(self.wall)} runs of {self.ops} ops, GC paused; minimum shown"
        one = (len(self.wall),)  # every run was taken by this one process
        out = []
        for name, seconds in (("time", self.wall), ("cpu_time", self.cpu)):
            per_op = tuple(s / self.ops for s in seconds)
            out.append(
                measurement(name, min(per_op), samples=per_op, note=note, loop=loop, groups=one)
            )
        if self.run_queue:
            per_op = tuple(s / self.ops for s in self.run_queue)
            median = sorted(per_op)[len(per_op) // 2]
            out.append(measurement("run_queue", median, samples=per_op, loop=loop, groups=one))
        for name, counts in (
            ("context_switches", self.switches),
            ("voluntary_switches", self.voluntary),
        ):
            if counts:
                per_run = tuple(float(n) for n in counts)
                mean = sum(per_run) / len(per_run)
                out.append(measurement(name, mean, samples=per_run, loop=loop, groups=one))
        if not math.isnan(self.load):
            out.append(measurement("load_average", self.load, samples=(self.load,), loop=loop))
        return out


@dataclass(frozen=True)
class _Run:
    """One timed run: wall and CPU seconds, context switches, run-queue seconds (None where
    the OS keeps none, or the work ran on other threads)."""

    wall: float
    cpu: float
    switches: int
    voluntary: int
    queued: float | None


def _timed_run(case: Case) -> _Run:
    """One run after an untimed reset, with the conditions it ran in."""
    # A case run by worker threads does its work outside the measuring thread, which only waits:
    # its CPU time is the whole process's (every thread's), not the measuring thread's, and the
    # measuring thread's run-queue delay says nothing of theirs.
    cpu_clock = time.process_time if case.threaded else time.thread_time
    case.reset()
    s0, v0 = _switches()
    q0 = None if case.threaded else run_queue_ns()
    c0 = cpu_clock()
    t0 = time.perf_counter()
    case.run()
    t1 = time.perf_counter()
    c1 = cpu_clock()
    q1 = None if case.threaded else run_queue_ns()
    s1, v1 = _switches()
    queued = (q1 - q0) / 1e9 if q0 is not None and q1 is not None else None
    return _Run(t1 - t0, c1 - c0, s1 - s0, v1 - v0, queued)


def time_runs(case: Case, reps: int, warmups: int = 1) -> Runs:
    """`warmups` untimed runs, then `reps` timed ones, each after an untimed reset."""
    if reps < 1:
        raise ValueError(f"reps must be >= 1, not {reps}")
    with gc_paused():
        for _ in range(warmups):
            case.reset()
            case.run()
        runs = [_timed_run(case) for _ in range(reps)]
    queued = tuple(r.queued for r in runs if r.queued is not None)
    return Runs(
        case.ops,
        tuple(r.wall for r in runs),
        tuple(r.cpu for r in runs),
        tuple(r.switches for r in runs),
        one_minute_load(),
        queued if len(queued) == reps else (),
        tuple(r.voluntary for r in runs),
    )


@dataclass
class PyperfClocks:
    """What `pyperf_time_func` measured beside pyperf's wall time, one entry per call (a pyperf
    value): CPU seconds per operation and involuntary context switches per run."""

    cpu: list[float] = field(default_factory=list)
    switches: list[float] = field(default_factory=list)


# This process's clocks (a pyperf worker times one case), read by `PyperfClocksHook`.
_PYPERF_CLOCKS = PyperfClocks()
# Where `PyperfClocksHook` puts them in a pyperf run's metadata: numbers, space-separated.
PYPERF_CPU_KEY = "mapbench_cpu_time"
PYPERF_SWITCHES_KEY = "mapbench_context_switches"


def pyperf_time_func(loops: int, case: Case) -> float:
    """pyperf's `bench_time_func` contract: wall seconds of `loops` timed runs; their CPU time
    and context switches are kept for `PyperfClocksHook`."""
    wall = cpu = 0.0
    switches = 0
    with gc_paused():
        for _ in range(loops):
            run = _timed_run(case)
            wall, cpu, switches = wall + run.wall, cpu + run.cpu, switches + run.switches
    _PYPERF_CLOCKS.cpu.append(cpu / (loops * case.ops))
    _PYPERF_CLOCKS.switches.append(switches / loops)
    return wall


class PyperfClocksHook:
    """pyperf hook (entry point group "pyperf.hook", name "mapbench_clocks"): the CPU time and
    context switches of each value taken while it was active, in the run's metadata.

    pyperf starts one for the warm-ups and one for the values of each worker run; the last one
    to write wins, so a run's metadata holds its values' clocks.
    """

    def __init__(self) -> None:
        self.first = len(_PYPERF_CLOCKS.cpu)

    def __enter__(self) -> PyperfClocksHook:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def teardown(self, metadata: dict[str, object]) -> None:
        clocks = _PYPERF_CLOCKS
        if len(clocks.cpu) > self.first:  # pyperf refuses empty metadata
            metadata[PYPERF_CPU_KEY] = " ".join(map(repr, clocks.cpu[self.first :]))
            metadata[PYPERF_SWITCHES_KEY] = " ".join(map(repr, clocks.switches[self.first :]))


def across_processes(
    processes: Sequence[Sequence[Measurement]], name: str, what: str = "processes"
) -> Measurement | None:
    """Metric `name` of every worker process, its samples concatenated in the order the
    processes ran, with `groups` saying how many each took; `what` names the processes.

    Runs inside one process share its noise burst, so they are not independent samples; the
    processes are, so a comparison reduces each process to one number and tests those. The
    value is the median of the processes' own values (for times, their fastest runs).
    """
    found = [m for process in processes for m in process if m.name == name]
    if not found:
        return None
    samples = tuple(x for m in found for x in m.samples)
    runs = len(found[0].samples)
    return measurement(
        name,
        float(statistics.median(m.value for m in found)),
        samples=samples,
        note=f"{runs} runs in each of {len(found)} {what}",
        loop=found[0].loop,
        groups=tuple(len(m.samples) for m in found),
    )


def time_batches(
    run_range: Callable[[int, int], None],
    ops: int,
    batch: int,
    between: Callable[[], object] | None = None,
) -> list[int]:
    """Nanoseconds taken by each consecutive batch of `batch` operations out of `ops`;
    `between`, if given, runs after each batch, untimed (the latency pass reads why a batch
    was slow there)."""
    clock = time.perf_counter_ns
    out = []
    for start in range(0, ops, batch):
        stop = min(start + batch, ops)
        t0 = clock()
        run_range(start, stop)
        out.append(clock() - t0)
        if between is not None:
            between()
    return out


def time_call(fn: Callable[[], object], ops: int = 1, *, cpu: bool = False) -> float:
    """Seconds per operation of one call of `fn` doing `ops` operations, GC paused: wall time,
    or with `cpu=True` the calling thread's CPU time (blind to time lent to other processes).

    For benchmark scripts that time work which is not a workload (a batch call, reopening a
    file); repeat and interleave the calls yourself.
    """
    clock = time.thread_time if cpu else time.perf_counter
    with gc_paused():
        t0 = clock()
        fn()
        return (clock() - t0) / ops


class Stopwatch:
    """Elapsed wall seconds of a block, GC untouched: `with Stopwatch() as sw: ...; sw.seconds`."""

    def __init__(self) -> None:
        self._start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


__all__ = [
    "GC_POLICY",
    "LOOP",
    "PYPERF_CPU_KEY",
    "PYPERF_SWITCHES_KEY",
    "TIMING_METRICS",
    "PyperfClocks",
    "PyperfClocksHook",
    "Runs",
    "Stopwatch",
    "across_processes",
    "gc_paused",
    "one_minute_load",
    "pyperf_time_func",
    "run_queue_ns",
    "time_batches",
    "time_call",
    "time_runs",
]
