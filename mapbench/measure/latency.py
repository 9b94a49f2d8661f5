"""Latency distribution per operation (p50, p99, p99.9, max), and what caused each spike."""

from __future__ import annotations

import gc
import statistics

from mapbench.catalog import measurement
from mapbench.measure._collector import Collector, percentile
from mapbench.measure.spikes import Spike, SpikeWatch, replay_resizes, table_identity
from mapbench.measure.timing import time_batches
from mapbench.schema import Measurement
from mapbench.workloads import ROLES, Case

_OVERHEAD_SAMPLES = 2001
SPIKE_FACTOR = 10  # a spike: an operation slower than this many times the median


class Latency(Collector):
    """Times each operation (or each batch of `batch` operations) of one run, GC on.

    Per-operation timing adds the timer and a call per operation (reported as
    `latency_timer_overhead`, not subtracted), so these figures describe the shape of the
    distribution, not the throughput: they come from their own pass, never the timing run.
    """

    name = "latency"
    description = "per-operation latency p50/p99/p99.9/max (perf_counter_ns per op)"

    def __init__(self, batch: int = 1) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, not {batch}")
        self.batch = batch

    def collect(self, case: Case) -> list[Measurement]:
        case.reset()
        watch = SpikeWatch()
        was_enabled = gc.isenabled()
        gc.collect()
        gc.enable()
        gc.callbacks.append(watch.gc_callback)
        try:
            times = case.run_batches(watch, self.batch)
        finally:
            gc.callbacks.remove(watch.gc_callback)
            if not was_enabled:
                gc.disable()
        overhead_ns = statistics.median(
            time_batches(lambda start, stop: None, _OVERHEAD_SAMPLES, 1)
        )
        per_op = sorted(t / r.batch / 1e9 for r in watch.runners for t in r.times)
        if not per_op:
            return []
        note = f"{len(per_op)} timed batches of {self.batch} op(s); timer overhead included"
        median = percentile(per_op, 50)
        spikes = watch.spikes(SPIKE_FACTOR * median * 1e9)
        return [
            measurement("latency_p50", median, note=note),
            measurement("latency_p99", percentile(per_op, 99), note=note),
            measurement("latency_p999", percentile(per_op, 99.9), note=note),
            measurement("latency_max", per_op[-1], note=note),
            measurement("latency_mean", sum(per_op) / len(per_op), note=note),
            measurement(
                "latency_spikes",
                len(spikes),
                note=f"operations (or batches) slower than {SPIKE_FACTOR}x the median",
            ),
            *_causes(case, watch, spikes),
            measurement("latency_timer_overhead", overhead_ns / 1e9),
            *_by_role(times, case.batch_roles(self.batch), self.batch),
        ]


def _by_role(times: list[int], roles: list[str] | None, batch: int) -> list[Measurement]:
    """Reads' and writes' latency apart, over every thread's batches of that role alone."""
    if roles is None or len(roles) != len(times):
        return []
    out = []
    for role in ROLES:
        per_op = sorted(t / batch / 1e9 for t, r in zip(times, roles, strict=True) if r == role)
        if not per_op:
            continue
        note = f"{len(per_op)} timed batches of {batch} {role} op(s), every thread's"
        median = percentile(per_op, 50)
        spikes = sum(1 for t in per_op if t > SPIKE_FACTOR * median)
        out += [
            measurement(f"latency_{role}_p50", median, note=note),
            measurement(f"latency_{role}_p99", percentile(per_op, 99), note=note),
            measurement(f"latency_{role}_p999", percentile(per_op, 99.9), note=note),
            measurement(f"latency_{role}_max", per_op[-1], note=note),
            measurement(
                f"latency_{role}_spikes",
                spikes,
                note=f"{role}s slower than {SPIKE_FACTOR}x the median {role}",
            ),
        ]
    return out


def _causes(case: Case, watch: SpikeWatch, spikes: list[Spike]) -> list[Measurement]:
    """Spikes counted by cause; a spike may have several causes, or none of these."""
    resized: list[bool] | None = None
    resize_note = ""
    if len(watch.runners) != 1:
        resize_note = "not checked: the runners' operations interleave differently every run"
    elif table_identity(case.map) is None:
        resize_note = "not checked: the map reports neither probe statistics nor dict tables"
    else:
        resized = replay_resizes(case, spikes)
        resize_note = "the table's identity read before and after each spike, in a replay"
        if len(resized) < len(spikes):
            resize_note += f"; the first {len(resized)} of {len(spikes)} spikes checked in time"
    out = []
    if resized is not None:
        out.append(measurement("latency_spikes_resize", sum(resized), note=resize_note))
    out += [
        measurement("latency_spikes_gc", sum(s.gc for s in spikes), note="gc.callbacks"),
        measurement(
            "latency_spikes_preempted",
            sum(s.preempted for s in spikes),
            note="involuntary context switches of the thread (getrusage)",
        ),
        measurement(
            "latency_spikes_page_faults",
            sum(s.page_faults for s in spikes),
            note="minor page faults of the thread (getrusage)",
        ),
    ]
    found = resized or []
    unexplained = sum(
        1
        for i, s in enumerate(spikes)
        if not (s.gc or s.preempted or s.page_faults or (i < len(found) and found[i]))
    )
    note = "spikes with none of the causes found" + (
        "" if resized is not None and len(found) == len(spikes) else f"; resize {resize_note}"
    )
    out.append(measurement("latency_spikes_unexplained", unexplained, note=note))
    return out
