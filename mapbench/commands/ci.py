"""`mapbench ci BASE HEAD`: build both commits, measure them interleaved, fail on a regression.

Exit status: 0 no regression, 1 a regression (or a case broken at HEAD), 2 bad input, 3 a bug
in mapbench, 4 nothing regressed but a time row was too noisy to judge (0 with --allow-noisy).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from mapbench.case import CaseId
from mapbench.ci.asv_site import DEFAULT_BENCH
from mapbench.commands._analysis import add_threshold_options, thresholds_from
from mapbench.commands._paths import output_directory
from mapbench.errors import UsageError
from mapbench.project import read_config
from mapbench.thresholds import Thresholds
from mapbench.values import VALUE_KINDS
from mapbench.workloads import KEY_KINDS, WORKLOADS

DEFAULT_MAPS = ("dict", "sharded", "cow", "c-linear", "c-swiss", "mmap")
DEFAULT_WORKLOADS = ("insert", "lookup-hit", "lookup-miss", "delete", "mixed-90-10")
DEFAULT_KEY_KINDS = ("random-int", "short-str")
DEFAULT_VALUE_KINDS = ("int",)
DEFAULT_SIZES = (10_000,)


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "base",
        metavar="BASE",
        help="the baseline: a revision of --repo (branch, tag, hash, HEAD~1), a requirement "
        "(pkg==5.5.2, 'pkg @ file:///x.whl'), a wheel or sdist, or a project directory",
    )
    add("head", metavar="HEAD", help="the candidate, given as BASE is")
    add("--repo", type=Path, default=Path("."), help="the git repository (default: .)")
    add("-o", "--output", type=Path, default=Path("ci-report"), help="output directory")
    add(
        "--work-dir",
        type=Path,
        default=Path(".mapbench-ci"),
        help="where each commit's venv is built and cached (default: .mapbench-ci)",
    )
    add_case_options(parser)
    add("--rounds", type=int, default=10, help="interleaved rounds; each runs both sides (10)")
    add("--reps", type=int, default=5, help="timed runs of each case per worker process (5)")
    add(
        "--threshold",
        type=float,
        default=0.10,
        help="the smallest slowdown of a time that fails the build, as the estimated change "
        "per operation (0.10 = 10%%)",
    )
    add(
        "--exact-tolerance",
        type=float,
        default=0.0,
        help="relative change of an exact metric (probe lengths, allocations) still accepted (0)",
    )
    add(
        "--instruction-tolerance",
        type=float,
        default=Thresholds().instruction_tolerance,
        help="relative change of instructions/op still accepted: two builds differ by ~0.05%% "
        "(%(default)s)",
    )
    add(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="after --rounds, keep adding rounds until every time interval is narrower than "
        "--threshold or the measuring has taken this long",
    )
    add("--timeout", type=float, default=600.0, help="deadline of one worker process, s (600)")
    add(
        "--instructions",
        action="store_true",
        help="also count instructions per operation under valgrind's callgrind: exact, so any "
        "change in CPU work is seen (about 30 s per case and side)",
    )
    add(
        "--no-instruction-fallback",
        dest="instruction_fallback",
        action="store_false",
        help="leave time rows that stay too noisy as they are, instead of judging their cases "
        "on instruction counts under callgrind (the first few such cases, ~1 min each)",
    )
    add("--asv", action="store_true", help="also run asv for both commits and publish its site")
    add(
        "--asv-bench",
        default=DEFAULT_BENCH,
        help=f"asv benchmarks to run (default {DEFAULT_BENCH})",
    )
    add_threshold_options(parser, ("alpha", "byte_tolerance", "block_tolerance"))


def add_case_options(parser: argparse.ArgumentParser) -> None:
    """--map, --workload, --key-kind, --value-kind, --size: the cases `ci` (and `bisect`)
    measure; each defaults to pyproject.toml's [tool.mapbench] in --repo, else to the built-in
    choice."""
    for flag, dest, default, kind, choices in (
        ("--map", "maps", DEFAULT_MAPS, str, None),
        ("--workload", "workloads", DEFAULT_WORKLOADS, str, list(WORKLOADS)),
        ("--key-kind", "key_kinds", DEFAULT_KEY_KINDS, str, list(KEY_KINDS)),
        ("--value-kind", "value_kinds", DEFAULT_VALUE_KINDS, str, list(VALUE_KINDS)),
        ("--size", "sizes", DEFAULT_SIZES, int, None),
    ):
        known = f"one of {', '.join(choices)}; " if choices else ""
        parser.add_argument(
            flag,
            dest=dest,
            action="append",
            type=kind,
            choices=choices,
            metavar="X",
            help=f"{known}repeatable; default: [tool.mapbench] in --repo's pyproject.toml, "
            f"else {', '.join(map(str, default))}",
        )


def cases_from(args: argparse.Namespace) -> tuple[CaseId, ...]:
    """Every combination of the case options given (each defaulting as documented)."""
    config = read_config(args.repo)
    return tuple(
        CaseId(m, w, kind, size, value_kind=values)
        for m, w, kind, values, size in itertools.product(
            args.maps or config.maps or DEFAULT_MAPS,
            args.workloads or config.workloads or DEFAULT_WORKLOADS,
            args.key_kinds or config.key_kinds or DEFAULT_KEY_KINDS,
            args.value_kinds or DEFAULT_VALUE_KINDS,
            args.sizes or config.sizes or DEFAULT_SIZES,
        )
    )


def cmd_ci(args: argparse.Namespace) -> int:
    from mapbench.ci.output_directory import check_output
    from mapbench.ci.sides import source_of

    if args.rounds < 2 or args.reps < 1:
        raise UsageError("--rounds must be >= 2 and --reps >= 1")
    if args.budget is not None and args.budget <= 0:
        raise UsageError("--budget must be a positive number of seconds")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, not {args.timeout:g}")
    if not args.repo.is_dir():
        raise UsageError(f"--repo {args.repo}: no such directory")
    check_output(output_directory(args.output, "-o"))
    output_directory(args.work_dir, "--work-dir")
    cases = cases_from(args)
    # Bad sides stop here, before the measuring machinery is even imported.
    for side, text in (("base", args.base), ("head", args.head)):
        source_of(side, text, args.repo.resolve())
    from mapbench.ci.interleave import progress_to_stderr
    from mapbench.ci.pipeline import CiOptions, run_ci

    thresholds = thresholds_from(
        args,
        min_effect=args.threshold,
        deterministic_tolerance=args.exact_tolerance,
        instruction_tolerance=args.instruction_tolerance,
    )
    options = CiOptions(
        repo=args.repo.resolve(),
        base=args.base,
        head=args.head,
        output=args.output,
        work_dir=args.work_dir.resolve(),
        cases=cases,
        rounds=args.rounds,
        reps=args.reps,
        thresholds=thresholds,
        timeout=args.timeout,
        asv=args.asv,
        asv_bench=args.asv_bench,
        instructions=args.instructions,
        budget=args.budget,
        allow_noisy=args.allow_noisy,
        instruction_fallback=args.instruction_fallback,
    )
    outcome = run_ci(options, progress_to_stderr)
    print(outcome.summary.read_text(encoding="utf-8"))
    print(f"report: {outcome.report}\nsummary: {outcome.summary}\nsite: {outcome.site}")
    return outcome.exit_status
