"""Latency distribution per operation (p50, p99, p99.9, max): the tail shows resize spikes."""

from __future__ import annotations

import gc
import statistics

from mapbench.measure._collector import Collector, percentile
from mapbench.measure.catalog import measurement
from mapbench.measure.timing import time_batches
from mapbench.schema import Measurement
from mapbench.workloads import Case

_OVERHEAD_SAMPLES = 2001


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
        was_enabled = gc.isenabled()
        gc.collect()
        gc.enable()
        try:
            times_ns = case.run_batches(time_batches, self.batch)
        finally:
            if not was_enabled:
                gc.disable()
        overhead_ns = statistics.median(
            time_batches(lambda start, stop: None, _OVERHEAD_SAMPLES, 1)
        )
        per_op = sorted(t / self.batch / 1e9 for t in times_ns)
        if not per_op:
            return []
        note = f"{len(per_op)} timed batches of {self.batch} op(s); timer overhead included"
        median = percentile(per_op, 50)
        return [
            measurement("latency_p50", median, note=note),
            measurement("latency_p99", percentile(per_op, 99), note=note),
            measurement("latency_p999", percentile(per_op, 99.9), note=note),
            measurement("latency_max", per_op[-1], note=note),
            measurement("latency_mean", sum(per_op) / len(per_op), note=note),
            measurement(
                "latency_spikes",
                sum(1 for t in per_op if t > 10 * median),
                note="operations (or batches) slower than 10x the median",
            ),
            measurement("latency_timer_overhead", overhead_ns / 1e9),
        ]
