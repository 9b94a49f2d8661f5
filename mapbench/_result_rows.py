"""The row every result loader produces: one metric of one benchmark case in one run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import pandas as pd

from mapbench.case import CaseId, params_of
from mapbench.catalog import info


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
    unit: str  # canonical: "s", "B", ... (see UNITS)
    kind: str  # "noisy" | "deterministic" | "modelled"
    value: float  # the tool's own summary (asv: its result; pyperf: median; mapbench: value)
    samples: tuple[float, ...]
    ci_low: float = math.nan  # asv's recorded 99% interval, when it has one
    ci_high: float = math.nan
    status: str = "ok"  # "ok" | "failed" | "timeout" | "skipped" | "unavailable" | "not run"
    error: str = ""
    loop: str = ""  # the code that ran the measured runs: "mapbench" | "pyperf" | "asv"
    gc: str = ""  # the garbage collector during them: "on" | "off" | "" (cannot matter)
    groups: tuple[int, ...] = ()  # consecutive samples per worker process; () = one sample each


COLUMNS: tuple[str, ...] = (*Row._fields, "n_samples")


def case_columns(case: CaseId, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A case's key columns of a row (`mapbench.case.KEY_COLUMNS`): its identity fields that
    are not columns of their own go into `params` (with the workload options in `params`)."""
    every = {**(params or {}), **params_of(case)}
    return {
        "map": case.map,
        "workload": case.workload,
        "size": case.size,
        "key_kind": case.key_kind,
        "params": ", ".join(f"{k}={every[k]}" for k in sorted(every)),
    }


# Other tools' unit names, as the tidy frame spells them.
UNITS = {"seconds": "s", "second": "s", "bytes": "B", "byte": "B"}


def canonical_unit(unit: str) -> str:
    """`seconds` -> `s`, `bytes` -> `B`; other units unchanged."""
    return UNITS.get(unit, unit)


def kind_of_metric(metric: str) -> str:
    """The kind of a metric another tool recorded without one (asv): the catalog's, if the
    metric is mapbench's; anything else is "noisy" (only proven metrics are deterministic)."""
    try:
        return info(metric).kind
    except KeyError:
        return "noisy"


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
