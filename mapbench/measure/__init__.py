"""The measurement library: every runner measures a case through here, and only here.

    case = open_case(CaseId("sharded", "insert", "random-int", 2000))
    try:
        runs = time_runs(case, reps=5)        # the one timing loop: wall and CPU, GC paused
        found = collect(case, ["probes"])     # collectors, each in a pass of its own
    finally:
        case.close()

`mapbench measure`, the `mapbench run` (pyperf) workers, the `mapbench ci` worker and the asv
suites all call this package; what each metric means is in `mapbench.catalog`.
"""

from __future__ import annotations

from mapbench.case import CaseId
from mapbench.catalog import CATALOG, MetricInfo, measurement
from mapbench.measure._collector import Collector, MetricsError, Unmeasurable, percentile
from mapbench.measure.cases import open_case
from mapbench.measure.collectors import COLLECTORS, Collected, collect, get_collector
from mapbench.measure.timing import Runs, time_runs

__all__ = [
    "CATALOG",
    "COLLECTORS",
    "CaseId",
    "Collected",
    "Collector",
    "MetricInfo",
    "MetricsError",
    "Runs",
    "Unmeasurable",
    "collect",
    "get_collector",
    "measurement",
    "open_case",
    "percentile",
    "time_runs",
]
