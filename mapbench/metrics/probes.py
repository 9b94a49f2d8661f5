"""Probe lengths from the probe-statistics capability, or read from a live CPython dict."""

from __future__ import annotations

from typing import Any

from mapbench.dictprobe import dict_probe_stats
from mapbench.measurement import Kind, Measurement
from mapbench.metrics._base import Collector
from mapbench.protocol import ProbeStats, ProbeStatsReporter
from mapbench.workloads import Case


def probe_stats_of(m: Any) -> ProbeStats | None:
    """The map's own probe statistics; a dict's read from its table; else None."""
    if isinstance(m, ProbeStatsReporter):
        return m.probe_stats()
    if isinstance(m, dict):
        return dict_probe_stats(m)
    return None


class ProbeLengths(Collector):
    """Exact probe statistics of the map's table after the run (hits over every stored key,
    misses from every home position), plus load factor and capacity.

    Reading the table happens after the run, outside the measured code; it costs up to a few
    seconds at 1M entries (the replay is vectorized). Modelled statistics say so in their kind.
    """

    name = "probes"
    description = "probe lengths of hits and misses, load factor, capacity"

    def __init__(self) -> None:
        self.stats: ProbeStats | None = None

    def drive(self, case: Case) -> None:
        case.run()
        self.stats = probe_stats_of(case.map)

    def measurements(self) -> list[Measurement]:
        s = self.stats
        if s is None:
            return []
        kind: Kind = "modelled" if s.source == "modelled" else "deterministic"
        unit = f"{s.probe_unit}s"
        note = "modelled: CPython's probing replayed on a model table" if kind == "modelled" else ""
        out = [
            Measurement("probe_hit_mean", s.hit_mean, unit, kind, note=note),
            Measurement("probe_hit_max", s.hit_max, unit, kind, note=note),
            Measurement("probe_miss_mean", s.miss_mean, unit, kind, note=note),
            Measurement("probe_miss_max", s.miss_max, unit, kind, note=note),
            Measurement(
                "probe_hit_histogram",
                s.hit_mean,
                unit,
                kind,
                tuple(s.hit_histogram),
                "stored keys by probe length (samples[i] = keys needing i probes)",
            ),
            Measurement(
                "probe_miss_histogram",
                s.miss_mean,
                unit,
                kind,
                tuple(s.miss_histogram),
                "home positions by unsuccessful-search length",
            ),
            Measurement("load_factor", s.load_factor, "", kind, note=note),
            Measurement("capacity", s.capacity, unit, kind, note=note),
            Measurement("tombstones", s.tombstones, unit, kind, note=note),
        ]
        if s.resizes:  # dicts do not count their resizes: 0 there means "not counted"
            out.append(Measurement("resizes", s.resizes, "", kind, note=note))
        if s.longest_insert_ns is not None:
            out.append(Measurement("longest_insert", s.longest_insert_ns / 1e9, "s", "noisy"))
        out += [
            Measurement(f"probe_{name}", float(value), "", kind, note=note)
            for name, value in s.extra.items()
        ]
        return out
