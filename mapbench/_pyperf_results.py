"""Read pyperf JSON files (through pyperf's own loader) into tidy rows.

Any pyperf file (`pyperf timeit`, a pyperf script), and the pyperf files `mapbench run` wrote
beside its results file up to results format 3 (format 4 keeps the timings in the results file,
`mapbench.schema`). mapbench names pyperf benchmarks by their case
("<map>/<workload>/<key_kind>/<size>", `mapbench.case.CaseId`) with values in seconds per
operation and records its timing loop and GC policy in the metadata; other names are kept whole
in `benchmark` and `workload`.
Each pyperf run is one worker process: a row's `groups` says how many values each took, and
the 1-minute load average pyperf records per run becomes a `load_average` row (a condition of
the machine, read by the noise verdict). pyperf keeps one clock, wall time: no `cpu_time`
(a format-3 file; mapbench's CPU times travel in pyperf's run metadata since format 4 and end up
in the results file).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mapbench._result_rows import Outcome, Row, case_columns, timestamp
from mapbench.case import CaseId
from mapbench.catalog import info
from mapbench.errors import MapbenchError

# pyperf's unit names -> (metric, unit) as the tidy frame spells them.
_UNITS = {"second": ("time", "s"), "byte": ("memory", "B"), "integer": ("count", "")}


def load_file(path: Path, environment: Mapping[str, Any] | None) -> Outcome:
    """Rows, environment and problems of one pyperf file; `environment` is the run's, if known."""
    import pyperf  # only where a pyperf file is read

    try:
        suite = pyperf.BenchmarkSuite.load(str(path))
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
        values = tuple(float(v) for run in runs for v in run.values)
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
    form = meta.get("mapbench_value_form")  # the same data as bytes: said as metrics files say it
    return {"benchmark": case.workload, **case_columns(case, {"value_form": form} if form else {})}


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
