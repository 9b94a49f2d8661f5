"""Latency distribution per operation (p50, p99, p99.9, max): the tail shows resize spikes."""

from __future__ import annotations

import statistics

from mapbench.measurement import Measurement
from mapbench.metrics._base import Collector, percentile
from mapbench.workloads import Case, time_batches

_OVERHEAD_SAMPLES = 2001


class Latency(Collector):
    """Times each operation (or each batch of `batch` operations) with `perf_counter_ns()`.

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
        self.times_ns: list[int] = []
        self.overhead_ns = 0.0

    def drive(self, case: Case) -> None:
        self.times_ns = case.latencies(self.batch)
        empty = time_batches(lambda start, stop: None, _OVERHEAD_SAMPLES, 1)
        self.overhead_ns = statistics.median(empty)

    def measurements(self) -> list[Measurement]:
        if not self.times_ns:
            return []
        per_op = sorted(t / self.batch / 1e9 for t in self.times_ns)
        note = f"{len(per_op)} timed batches of {self.batch} op(s); timer overhead included"
        median = percentile(per_op, 50)
        return [
            Measurement("latency_p50", median, "s", note=note),
            Measurement("latency_p99", percentile(per_op, 99), "s", note=note),
            Measurement("latency_p999", percentile(per_op, 99.9), "s", note=note),
            Measurement("latency_max", per_op[-1], "s", note=note),
            Measurement("latency_mean", sum(per_op) / len(per_op), "s", note=note),
            Measurement(
                "latency_spikes",
                sum(1 for t in per_op if t > 10 * median),
                "ops",
                note="operations (or batches) slower than 10x the median",
            ),
            Measurement(
                "latency_timer_overhead",
                self.overhead_ns / 1e9,
                "s",
                note="median time of an empty timed call",
            ),
        ]
