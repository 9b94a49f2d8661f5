"""Probe lengths: from the map's own statistics, or read from the live CPython dicts it is."""

from __future__ import annotations

from typing import Any

from mapbench.catalog import EXTRA_PREFIX, measurement
from mapbench.measure._collector import Collector, Unmeasurable
from mapbench.protocol import DictBacked, ProbeStats, ProbeStatsReporter
from mapbench.schema import Kind, Measurement
from mapbench.workloads import Case


def probe_stats_of(m: Any) -> ProbeStats:
    """The map's own probe statistics, a dict's read from its table, or those of the dicts a
    composite map holds (merged); `Unmeasurable` when there is nothing to read."""
    from mapbench.measure import dictprobe  # numpy: loaded only when probes are read

    try:
        if isinstance(m, ProbeStatsReporter):
            return m.probe_stats()
        if isinstance(m, dict):
            return dictprobe.dict_probe_stats(m)
        if isinstance(m, DictBacked):
            return dictprobe.merged_dict_probe_stats(m.backing_dicts())
    except dictprobe.DictProbeError as exc:
        raise Unmeasurable(str(exc)) from exc
    raise Unmeasurable(
        f"{type(m).__name__} reports no probe statistics (no probe_stats(), not a dict, "
        "no backing_dicts())"
    )


class ProbeLengths(Collector):
    """Exact probe statistics of the map's table after one run (hits over every stored key,
    misses from every home position), plus load factor and capacity.

    Reading the table happens after the run, outside the measured code; it costs up to a few
    seconds at 1M entries (the replay is vectorized). Modelled statistics say so in their kind.
    """

    name = "probes"
    description = "probe lengths of hits and misses, load factor, capacity"

    def collect(self, case: Case) -> list[Measurement]:
        case.reset()
        case.run()
        return probe_measurements(probe_stats_of(case.map))


def probe_measurements(s: ProbeStats) -> list[Measurement]:
    """A table's statistics as measurements (hit figures only when it holds keys)."""
    kind: Kind | None = "modelled" if s.source == "modelled" else None
    note = (
        "modelled: CPython's probing replayed on a model table"
        if kind
        else f"one probe inspects one {s.probe_unit}"
    )
    out = []
    if s.size:
        out += [
            measurement("probe_hit_mean", s.hit_mean, note=note, kind=kind),
            measurement("probe_hit_max", s.hit_max, note=note, kind=kind),
            measurement(
                "probe_hit_histogram", s.hit_mean, samples=s.hit_histogram, note=note, kind=kind
            ),
        ]
    out += [
        measurement("probe_miss_mean", s.miss_mean, note=note, kind=kind),
        measurement("probe_miss_max", s.miss_max, note=note, kind=kind),
        measurement(
            "probe_miss_histogram", s.miss_mean, samples=s.miss_histogram, note=note, kind=kind
        ),
        measurement("load_factor", s.load_factor, kind=kind),
        measurement("capacity", s.capacity, kind=kind),
        measurement("tombstones", s.tombstones, kind=kind),
    ]
    if s.resizes:  # dicts do not count their resizes: 0 there means "not counted"
        out.append(measurement("resizes", s.resizes, kind=kind))
    out += [
        measurement(f"{EXTRA_PREFIX}{name}", value, kind=kind) for name, value in s.extra.items()
    ]
    return out
