"""Child process: run the collectors on one job, each in its own pass, and write their JSON.

`python -m mapbench.runner._collect JOB-ARGS [--collector NAME ...] --output F`. Kept apart from
the timing pass so that expensive collectors (tracemalloc) never touch a timed run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mapbench import metrics
from mapbench.runner.jobs import Job, add_job_arguments, check_hash_seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mapbench.runner._collect")
    add_job_arguments(parser)
    parser.add_argument("--collector", action="append", default=[], help="default: all")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    check_hash_seed(args.hash_seed)
    names = args.collector or list(metrics.COLLECTORS)
    case = Job.from_args(args).open_case()
    try:
        measurements = metrics.collect(case, names)
    finally:
        case.close()
    data = {"metrics": [m.to_json() for m in measurements]}
    Path(args.output).write_text(json.dumps(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
