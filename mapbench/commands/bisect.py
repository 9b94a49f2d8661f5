"""`mapbench bisect GOOD BAD --metric M`: the first commit that made the selected cases worse."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mapbench.commands.ci import add_case_options, cases_from
from mapbench.errors import UsageError
from mapbench.thresholds import Thresholds


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("good", metavar="GOOD", help="a revision where the metric is as it should be")
    add("bad", metavar="BAD", help="a later revision where it is not (a descendant of GOOD)")
    add(
        "--metric",
        default="time",
        help="the metric that went bad (default time; an exact one such as probe_hit_mean is "
        "compared exactly and needs one process per commit)",
    )
    add_case_options(parser)
    add("--repo", type=Path, default=Path("."), help="the git repository (default: .)")
    add(
        "--work-dir",
        type=Path,
        default=Path(".mapbench-ci"),
        help="where each commit's venv is built and cached, shared with `mapbench ci`",
    )
    add("-o", "--output", type=Path, default=Path("bisect-report"), help="results of each step")
    add("--rounds", type=int, default=10, help="interleaved rounds per step, for time (10)")
    add("--reps", type=int, default=5, help="timed runs per worker process (5)")
    add("--threshold", type=float, default=0.10, help="time slowdown that counts as bad (0.10)")
    add("--exact-tolerance", type=float, default=0.0, help="exact-metric change still good (0)")
    add("--timeout", type=float, default=600.0, help="deadline of one worker process, s (600)")
    add("--json", action="store_true", help="print the outcome as JSON")


def cmd_bisect(args: argparse.Namespace) -> int:
    from mapbench.ci.sides import source_of

    if args.rounds < 2 or args.reps < 1:
        raise UsageError("--rounds must be >= 2 and --reps >= 1")
    # Bad revisions stop here, before the measuring machinery is even imported.
    for side, text in (("GOOD", args.good), ("BAD", args.bad)):
        source_of(side, text, args.repo.resolve())
    from mapbench.ci.interleave import progress_to_stderr
    from mapbench.history.bisect import BisectOptions, bisect

    options = BisectOptions(
        repo=args.repo.resolve(),
        good=args.good,
        bad=args.bad,
        cases=cases_from(args),
        metric=args.metric,
        work_dir=args.work_dir.resolve(),
        output=args.output,
        rounds=args.rounds,
        reps=args.reps,
        thresholds=Thresholds(
            min_effect=args.threshold, deterministic_tolerance=args.exact_tolerance
        ),
        timeout=args.timeout,
    )
    outcome = bisect(options, progress_to_stderr)
    if args.json:
        print(json.dumps(outcome.as_dict(), indent=2))
        return 0
    for step in outcome.steps:
        print(f"{step.commit[:12]} {'bad ' if step.bad else 'good'} {step.subject}")
        for line in step.evidence:
            print(f"    {line}")
    print(
        f"\nfirst bad commit: {outcome.first_bad} {outcome.subject}\n"
        f"last good commit: {outcome.last_good}\n"
        f"{outcome.builds} commits built or reused (GOOD included); results in {args.output}"
    )
    return 0
