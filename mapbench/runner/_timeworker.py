"""The pyperf script that times one case: `python -m mapbench.runner._timeworker ARGS`.

pyperf's manager re-runs this module for each worker process (program_args), forwarding the
case's arguments; the keys and map are built only in workers, never in the manager. pyperf owns
the loop count and calibration; each loop is mapbench's timed run (`pyperf_time_func`: reset
untimed, GC paused), so "time" means here what it means in every other runner. The CPU time and
context switches of each value, which pyperf has no place for, travel in its run metadata (a
pyperf hook, `mapbench.measure.timing.PyperfClocksHook`); `timing_measurements` turns the
manager's file into the measurements the core's loop records (time, cpu_time,
context_switches, load_average), per worker process.

Every choice a worker needs is a command-line argument, never an environment variable: pyperf's
workers only inherit a few variables. The exception is PYTHONHASHSEED, which must be set before
the interpreter starts; it is passed both ways and the worker refuses to run if they disagree.
The manager and each worker die with their parent, and a worker whose map fails reports the
exception to mapbench (`mapbench._child`; pyperf's manager would only say "exit code 1").
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

import pyperf

from mapbench._child import die_with_parent, report_failure
from mapbench.case import CaseId
from mapbench.catalog import measurement
from mapbench.measure.cases import open_case
from mapbench.measure.timing import (
    GC_POLICY,
    PYPERF_CPU_KEY,
    PYPERF_SWITCHES_KEY,
    TIMING_METRICS,
    across_processes,
    pyperf_time_func,
)
from mapbench.schema import Measurement

LOOP = "pyperf"
TIMING_MODULE = "mapbench.runner._timeworker"


def timing_measurements(path: Path) -> list[Measurement]:
    """The timing pass's file (pyperf's, one benchmark) as mapbench measurements: every worker
    process that took values is one process of `across_processes`."""
    [bench] = pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
    processes = [_process(run) for run in bench.get_runs() if run.values]
    found = (across_processes(processes, n, "pyperf worker processes") for n in TIMING_METRICS)
    return [m for m in found if m]


def _process(run: pyperf.Run) -> list[Measurement]:
    """One pyperf worker process's values, as the core's loop records a process."""
    meta = run.get_metadata()
    values = tuple(float(v) for v in run.values)
    cpu = tuple(float(x) for x in str(meta.get(PYPERF_CPU_KEY, "")).split())
    switches = tuple(float(x) for x in str(meta.get(PYPERF_SWITCHES_KEY, "")).split())
    load = float(meta.get("load_avg_1min", "nan"))
    note = f"{len(values)} values of {meta.get('loops', '?')} loops, GC paused; minimum shown"
    found = [measurement("time", min(values), samples=values, note=note, loop=LOOP)]
    if len(cpu) == len(values):
        found.append(measurement("cpu_time", min(cpu), samples=cpu, note=note, loop=LOOP))
    if len(switches) == len(values):
        mean = sum(switches) / len(switches)
        found.append(measurement("context_switches", mean, samples=switches, loop=LOOP))
    if not math.isnan(load):
        found.append(measurement("load_average", load, samples=(load,), loop=LOOP))
    return found


def case_argv(case: CaseId, hash_seed: str) -> list[str]:
    """The arguments that name `case` to this script (the inverse of `_case_of`)."""
    return [
        f"--case={case}",
        f"--spec={case.loadable_spec}",
        f"--seed={case.seed}",
        f"--hash-seed={hash_seed}",
    ]


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", required=True, help="map/workload/key_kind/size[/value_kind]")
    parser.add_argument("--spec", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hash-seed", required=True)


def _case_of(args: argparse.Namespace) -> CaseId:
    return CaseId.parse(args.case, args.seed, args.spec)


def _forward(cmd: list[str], args: argparse.Namespace) -> None:
    cmd.extend(case_argv(_case_of(args), args.hash_seed))


def main() -> None:
    die_with_parent()
    runner = pyperf.Runner(program_args=("-m", TIMING_MODULE), add_cmdline_args=_forward)
    _add_arguments(runner.argparser)
    args: Any = runner.parse_args()
    actual = os.environ.get("PYTHONHASHSEED", "")
    if actual != args.hash_seed:
        sys.exit(f"worker runs with PYTHONHASHSEED={actual or 'unset'}, planned {args.hash_seed}")
    case_id = _case_of(args)
    runner.metadata.update(
        {
            "mapbench_map": case_id.map,
            "mapbench_workload": case_id.workload,
            "mapbench_key_kind": case_id.key_kind,
            "mapbench_size": case_id.size,
            "mapbench_seed": case_id.seed,
            "mapbench_hash_seed": args.hash_seed,
            "mapbench_gc": GC_POLICY,
            "mapbench_loop": LOOP,
        }
    )
    if not args.worker:  # the manager only spawns workers and gathers their values
        runner.bench_time_func(str(case_id), pyperf_time_func, None)
        return
    try:
        case = open_case(case_id)
        if case.values_of.off_heap:  # the same data as bytes: results say so, as metrics files do
            runner.metadata["mapbench_value_form"] = case.values_of.form
        try:
            runner.bench_time_func(str(case_id), pyperf_time_func, case, inner_loops=case.ops)
        finally:
            case.close()
    except (Exception, SystemExit) as exc:
        report_failure(exc)
        raise


if __name__ == "__main__":
    main()
    sys.exit(0)
