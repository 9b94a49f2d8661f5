"""The row every result loader produces: one metric of one benchmark case in one run."""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

import pandas as pd


class Row(NamedTuple):
    """One tidy row; unknown text is "", unknown numbers are NaN (see docs/report.md)."""

    source: str  # "asv" | "pyperf" | "mapbench"
    file: str  # the file the row was read from (also the key of ResultSet.environments)
    machine: str
    commit: str  # full hash when known
    commit_date: Any  # pd.Timestamp (UTC) or NaT
    python: str  # "3.12.1" (asv records "3.12")
    env: str  # asv environment name, or the interpreter that ran
    benchmark: str  # the tool's own name, parameters excluded
    map: str
    workload: str
    size: Any  # int, or None when the benchmark has no size
    key_kind: str
    params: str  # remaining parameters, "a=1, b=x"
    metric: str  # "time", "peakmem", "gc_pause_max", ...
    unit: str
    kind: str  # "noisy" | "deterministic" | "modelled"
    value: float  # the tool's own summary (asv: its result; pyperf: median; mapbench: value)
    samples: tuple[float, ...]
    ci_low: float = math.nan  # asv's recorded 99% interval, when it has one
    ci_high: float = math.nan
    status: str = "ok"  # "ok" | "failed" | "timeout" | "skipped"
    error: str = ""


COLUMNS: tuple[str, ...] = (*Row._fields, "n_samples")

# asv records no kind per benchmark; these metric names are counts or exact table statistics
# that do not vary between runs of the same code with the same seed.
_DETERMINISTIC = re.compile(
    r"probe|alloc|blocks|capacity|load_factor|resizes|tombstone|collisions|instructions|bytes_per"
)


def kind_of_metric(metric: str) -> str:
    """The kind of an asv metric, which asv does not record: deterministic names, else noisy."""
    return "deterministic" if _DETERMINISTIC.search(metric) else "noisy"


# What a file loader returns: its rows, the environment it recorded (if any), and its problems
# as (path, reason) pairs (a problem may lie in a file it shares, like asv's benchmarks.json).
Outcome = tuple[list[Row], dict[str, Any] | None, list[tuple[str, str]]]


def timestamp(value: Any) -> Any:
    """A UTC pd.Timestamp from an ISO string or timestamp, NaT when absent or unparseable."""
    if value in (None, ""):
        return pd.NaT
    try:
        return pd.Timestamp(value).tz_convert("UTC")
    except TypeError:  # a naive time: taken as UTC
        return pd.Timestamp(value).tz_localize("UTC")
    except ValueError:
        return pd.NaT
