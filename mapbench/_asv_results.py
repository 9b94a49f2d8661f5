"""Read asv's results files (format version 2, asv 0.5-0.6) into tidy rows.

Layout: `<results>/benchmarks.json` describes every benchmark (type, unit, parameter names);
`<results>/<machine>/machine.json` describes the machine; `<results>/<machine>/<hash>-<env>.json`
holds one commit x environment, each benchmark a row of `result_columns` whose lists run over
`itertools.product(*params)`. A `result` of null means the benchmark failed; NaN that asv ran
no value for it: the combination was not selected (`--bench` names a few parameter combinations;
asv writes NaN for the others) or was skipped in setup (n/a). asv records nothing that tells the
two apart, so both read as "not run", never as a failure.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mapbench._result_rows import Outcome, Row, canonical_unit, kind_of_metric
from mapbench.catalog import info

AUXILIARY_FILES = frozenset({"machine.json", "benchmarks.json"})
SUPPORTED_VERSION = 2

# asv parameter names that mean one of the tidy frame's own columns.
_PARAM_COLUMNS = {
    "map": "map",
    "impl": "map",
    "workload": "workload",
    "size": "size",
    "n": "size",
    "key_kind": "key_kind",
    "keys": "key_kind",
}
# asv's benchmark types (as benchmarks.json names them) by function-name prefix, for when
# benchmarks.json is missing, and the unit each type has by default.
_TYPES_BY_PREFIX = {
    "time": "time",
    "timeraw": "time",
    "peakmem": "peakmemory",
    "mem": "memory",
    "track": "track",
}
_DEFAULT_UNITS = {"time": "seconds", "peakmemory": "bytes", "memory": "bytes", "track": ""}
NOT_RUN = "not run"
_ERRORS = {
    "failed": "asv recorded no result (the benchmark failed)",
    NOT_RUN: "asv ran no value: not selected by --bench, or skipped in setup (n/a)",
}


def load_file(path: Path, data: dict[str, Any], cache: dict[str, dict[str, Any] | str]) -> Outcome:
    """Rows, environment and problems of one asv results file.

    `cache` holds machine.json and benchmarks.json once read, since every file of a directory
    shares them.
    """
    version = data.get("version")
    if version != SUPPORTED_VERSION:
        reason = (
            f"asv results format version {version!r} is not supported (this reads version "
            f"{SUPPORTED_VERSION}, written by asv 0.5-0.6; `asv update` converts older files)"
        )
        return [], None, [(str(path), reason)]
    problems: list[tuple[str, str]] = []
    machine_file = path.parent / "machine.json"
    machine = _read_json_object(str(machine_file), cache)
    if isinstance(machine, str):
        problems.append((str(machine_file), machine))
        machine = {}
    bench_file = path.parent.parent / "benchmarks.json"
    benchmarks = _read_json_object(str(bench_file), cache)
    if isinstance(benchmarks, str):
        problems.append((str(bench_file), f"{benchmarks}; units and parameter names guessed"))
        benchmarks = {}
    context = {
        "source": "asv",
        "file": str(path),
        "machine": str(data["params"].get("machine") or machine.get("machine") or ""),
        "commit": str(data["commit_hash"]),
        "commit_date": _date(data.get("date")),
        "python": str(data.get("python") or ""),
        "env": str(data.get("env_name") or ""),
    }
    columns = data["result_columns"]
    rows: list[Row] = []
    for name, values in data["results"].items():
        fields = dict(zip(columns, values, strict=False))  # asv drops trailing nulls
        meta = benchmarks.get(name)
        try:
            rows.extend(
                _benchmark_rows(context, name, fields, meta if isinstance(meta, dict) else {})
            )
        except (KeyError, TypeError, ValueError) as exc:
            problems.append((str(path), f"benchmark {name!r} skipped: {exc}"))
    return rows, _environment(data, machine), problems


def _benchmark_rows(
    context: Mapping[str, Any], name: str, fields: Mapping[str, Any], meta: Mapping[str, Any]
) -> list[Row]:
    """One row per parameter combination of one benchmark."""
    function = name.rsplit(".", 1)[-1]
    prefix = function.split("_", 1)[0]
    bench_type = str(meta.get("type") or _TYPES_BY_PREFIX.get(prefix, prefix))
    metric = function.removeprefix("track_") if bench_type == "track" else bench_type
    unit = canonical_unit(str(meta.get("unit") or _DEFAULT_UNITS.get(bench_type, "")))
    kind = kind_of_metric(metric) if bench_type == "track" else "noisy"
    loop, gc = _method(bench_type, metric)
    params: list[list[str]] = fields.get("params") or []
    names = list(meta.get("param_names") or [f"param{i}" for i in range(len(params))])
    if len(names) != len(params):
        raise ValueError(f"{len(params)} parameter lists but {len(names)} parameter names")
    combos = list(itertools.product(*params))
    results = _per_combo(fields.get("result"), len(combos), "result")
    samples = _per_combo(fields.get("samples"), len(combos), "samples")
    ci_low = _per_combo(fields.get("stats_ci_99_a"), len(combos), "stats_ci_99_a")
    ci_high = _per_combo(fields.get("stats_ci_99_b"), len(combos), "stats_ci_99_b")
    # A timed benchmark of a map names its workload in the function (`time_lookup_hit`) unless a
    # parameter does; one without a map (a helper, the environment) is not a map case.
    of_a_map = any(_PARAM_COLUMNS.get(n) == "map" for n in names)
    default_workload = function.split("_", 1)[-1] if of_a_map and bench_type != "track" else ""
    rows = []
    for j, combo in enumerate(combos):
        columns: dict[str, Any] = {"map": "", "workload": default_workload, "size": None}
        columns["key_kind"] = ""
        rest = []
        for param_name, text in zip(names, combo, strict=True):
            value = _param_value(text)
            column = _PARAM_COLUMNS.get(param_name)
            if param_name == "value_kind" and value == "int":
                continue  # int values are every case's default, named nowhere else either
            if column is None:
                rest.append(f"{param_name}={value}")
            else:
                columns[column] = int(value) if column == "size" else str(value)
        result = results[j]
        status = "failed" if result is None else NOT_RUN if math.isnan(result) else "ok"
        per = _ops_per_run(bench_type, columns)
        rows.append(
            Row(
                **context,
                benchmark=name,
                **columns,
                params=", ".join(sorted(rest)),
                metric=metric,
                unit=unit,
                kind=kind,
                value=math.nan if result is None else float(result) / per,
                samples=tuple(float(s) / per for s in samples[j] or ()),
                ci_low=_float(ci_low[j]) / per,
                ci_high=_float(ci_high[j]) / per,
                status=status,
                error=_ERRORS.get(status, ""),
                loop=loop,
                gc=gc,
            )
        )
    return rows


def _method(bench_type: str, metric: str) -> tuple[str, str]:
    """(loop, GC policy): asv times with its own loop, GC off; mapbench's track_ benchmarks
    report a mapbench collector's figure, measured under that metric's GC policy."""
    if bench_type == "time":
        return "asv", "off"
    try:
        return "mapbench", info(metric).gc
    except KeyError:
        return "", ""


def _ops_per_run(bench_type: str, columns: dict[str, Any]) -> int:
    """asv times a whole run of a mapbench workload; the frame holds seconds per operation."""
    from mapbench.workloads import WORKLOADS  # the workload's definition: only for asv times

    workload = WORKLOADS.get(columns["workload"])
    if bench_type != "time" or workload is None or columns["size"] is None:
        return 1
    return workload.ops(int(columns["size"]))


def _per_combo(values: Sequence[Any] | None, count: int, what: str) -> Sequence[Any]:
    """One entry per parameter combination (asv writes null when all of them are null)."""
    if values is None:
        return [None] * count
    if len(values) != count:
        raise ValueError(f"{len(values)} {what} entries for {count} parameter combinations")
    return values


def _param_value(text: str) -> Any:
    """asv stores parameter values as their repr(); strings come back without quotes."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _date(millis: Any) -> Any:
    if not isinstance(millis, (int, float)):
        return pd.NaT
    return pd.Timestamp(millis, unit="ms", tz="UTC")


def _environment(data: Mapping[str, Any], machine: Mapping[str, Any]) -> dict[str, Any]:
    """What asv recorded about the run, in the shape of mapbench's environment()."""
    env_vars = data.get("env_vars") or {}
    date = _date(data.get("date"))
    return {
        "python": data.get("python"),
        "machine": data["params"].get("machine"),
        "commit": data.get("commit_hash"),
        "commit_date": None if date is pd.NaT else date.isoformat(),
        "asv_environment": data.get("env_name"),
        "hash_seed": env_vars.get("PYTHONHASHSEED", "not recorded by asv"),
        "requirements": data.get("requirements") or {},
        "env_vars": env_vars,
        **{k: v for k, v in machine.items() if k not in ("version", "machine")},
    }


def _read_json_object(path: str, cache: dict[str, dict[str, Any] | str]) -> dict[str, Any] | str:
    """A JSON object from `path`, or the reason it cannot be had."""
    if path not in cache:
        cache[path] = _read_uncached(path)
    return cache[path]


def _read_uncached(path: str) -> dict[str, Any] | str:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError) as exc:
        return f"unreadable: {exc}"
    return data if isinstance(data, dict) else "not a JSON object"
