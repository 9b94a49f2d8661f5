"""Read pyperf JSON files (through pyperf's own loader) into tidy rows.

mapbench names pyperf benchmarks by their case ("<map>/<workload>/<key_kind>/<size>",
`mapbench.measure.CaseId`) with values in seconds per operation and records its timing loop
and GC policy in the metadata; other names are kept whole in `benchmark` and `workload`.
Each pyperf run is one worker process: a row's `groups` says how many values each took, and
the 1-minute load average pyperf records per run becomes a `load_average` row (a condition of
the machine, read by the noise verdict). pyperf keeps one clock, wall time: no `cpu_time`.
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyperf

from mapbench._result_rows import Outcome, Row, timestamp
from mapbench.errors import MapbenchError
from mapbench.measure.case import CaseId
from mapbench.measure.catalog import info

# pyperf's unit names -> (metric, unit) as the tidy frame spells them.
_UNITS = {"second": ("time", "s"), "byte": ("memory", "B"), "integer": ("count", "")}


def load_file(path: Path, raw: bytes, environment: Mapping[str, Any] | None) -> Outcome:
    """Rows, environment and problems of the pyperf file `raw` read from `path`; `environment`
    is the run's, if known."""
    try:
        suite = pyperf.BenchmarkSuite.load(io.BytesIO(raw))
    except Exception as exc:  # pyperf raises bare KeyError/ValueError/TypeError on bad input
        return [], None, [(str(path), f"pyperf cannot load it: {type(exc).__name__}: {exc}")]
    rows: list[Row] = []
    problems: list[tuple[str, str]] = []
    first_meta: dict[str, Any] = {}
    for bench in suite.get_benchmarks():
        meta = dict(bench.get_metadata())
        first_meta = first_meta or meta
        context = _context(environment, meta)
        metric, unit = _UNITS.get(bench.get_unit(), (bench.get_unit(), bench.get_unit()))
        runs = [run for run in bench.get_runs() if run.values]  # calibration runs hold none
        try:
            values = tuple(float(v) for run in runs for v in run.values)
        except (OverflowError, TypeError, ValueError) as exc:
            problems.append((str(path), f"benchmark {bench.get_name()!r} skipped: {exc}"))
            continue
        common = {
            "source": "pyperf",
            "file": str(path),
            **context,
            **_name_columns(bench.get_name(), meta),
            "kind": "noisy",
            "loop": str(meta.get("mapbench_loop", "pyperf")),
        }
        rows.append(
            Row(
                **common,
                metric=metric,
                unit=unit,
                value=statistics.median(values) if values else float("nan"),
                samples=values,
                status="ok" if values else "failed",
                error="" if values else "pyperf recorded no values (warmups only)",
                gc=str(meta.get("mapbench_gc", "")),
                groups=tuple(len(run.values) for run in runs),
            )
        )
        loads = tuple(float(run.get_metadata().get("load_avg_1min", "nan")) for run in runs)
        if loads and not any(math.isnan(x) for x in loads):
            rows.append(
                Row(
                    **common,
                    metric="load_average",
                    unit=info("load_average").unit,
                    value=statistics.median(loads),
                    samples=loads,
                )
            )
    if not rows:
        problems.append((str(path), "pyperf file holds no benchmarks"))
    return rows, dict(environment) if environment else _pyperf_environment(first_meta), problems


def _name_columns(name: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    try:
        case = CaseId.parse(name, int(meta.get("mapbench_seed", 0)))
    except MapbenchError:
        return {"benchmark": name, "map": "", "workload": name, "size": None, "key_kind": "",
                "params": ""}  # fmt: skip
    return {
        "benchmark": case.workload,
        "map": case.map,
        "workload": case.workload,
        "size": case.size,
        "key_kind": case.key_kind,
        "params": f"seed={case.seed}" if case.seed else "",
    }


def _context(environment: Mapping[str, Any] | None, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Where the run happened: from the run's environment, else from pyperf's metadata."""
    env = environment or {}
    python = str(env.get("python") or str(meta.get("python_version", "")).split(" ")[0])
    return {
        "machine": str(env.get("machine") or meta.get("hostname") or ""),
        "commit": str(env.get("commit") or meta.get("commit") or ""),
        "commit_date": timestamp(env.get("commit_date")),
        "python": python,
        "env": str(env.get("executable") or meta.get("python_executable") or ""),
    }


def _pyperf_environment(meta: Mapping[str, Any]) -> dict[str, Any]:
    """pyperf's metadata in the shape of mapbench's environment()."""
    return {
        "python": str(meta.get("python_version", "")).split(" ")[0],
        "executable": meta.get("python_executable"),
        "machine": meta.get("hostname"),
        "platform": meta.get("platform"),
        "cpu": meta.get("cpu_model_name"),
        "cpu_count": meta.get("cpu_count"),
        "hash_seed": meta.get("python_hash_seed", "not recorded"),
        "timestamp": meta.get("date"),
        "pyperf_version": meta.get("perf_version"),
    }
