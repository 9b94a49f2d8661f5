"""The pyperf script that times one job: `python -m mapbench.runner._timeworker ARGS`.

pyperf's manager re-runs this module for each worker process (program_args), forwarding the job's
arguments; the keys and map are built only in workers, never in the manager.
"""

from __future__ import annotations

import argparse
import sys
from time import perf_counter
from typing import Any

import pyperf

from mapbench.runner.jobs import Job, add_job_arguments, check_hash_seed, hash_seed_argv
from mapbench.workloads import Case


def time_case(loops: int, case: Case) -> float:
    """Seconds spent in `loops` runs of the case; each reset (untimed) comes before its run."""
    total = 0.0
    for _ in range(loops):
        case.reset()
        start = perf_counter()
        case.run()
        total += perf_counter() - start
    return total


def _forward(cmd: list[str], args: argparse.Namespace) -> None:
    cmd.extend(Job.from_args(args).argv() + hash_seed_argv(args.hash_seed))


def main() -> None:
    runner = pyperf.Runner(
        program_args=("-m", "mapbench.runner._timeworker"), add_cmdline_args=_forward
    )
    add_job_arguments(runner.argparser)
    args: Any = runner.parse_args()
    check_hash_seed(args.hash_seed)
    job = Job.from_args(args)
    runner.metadata.update(
        {
            "mapbench_map": job.label,
            "mapbench_workload": job.workload,
            "mapbench_key_kind": job.key_kind,
            "mapbench_size": job.size,
            "mapbench_seed": job.seed,
            "mapbench_hash_seed": args.hash_seed,
        }
    )
    if not args.worker:  # the manager only spawns workers and gathers their values
        runner.bench_time_func(job.name, time_case, None)
        return
    case = job.open_case()
    try:
        runner.bench_time_func(job.name, time_case, case, inner_loops=case.ops)
    finally:
        case.close()


if __name__ == "__main__":
    main()
    sys.exit(0)
