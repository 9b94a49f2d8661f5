"""`mapbench run`: time maps on workloads with pyperf, collect metrics, save a results dir."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from dataclasses import replace
from pathlib import Path

from mapbench.commands._paths import output_directory
from mapbench.commands.measure import check_hash_seed
from mapbench.errors import UsageError
from mapbench.runner.interpreters import python_version
from mapbench.runner.plan import (
    DEFAULT_PLAN,
    QUICK_PLAN,
    make_cases,
    parse_shard,
    select_maps,
    shard,
)
from mapbench.runner.progress import Progress, summary
from mapbench.runner.settings import DEFAULT, QUICK, Target, current_target
from mapbench.values import VALUE_KINDS
from mapbench.workloads import KEY_KINDS, WORKLOADS


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--map",
        dest="maps",
        action="append",
        default=[],
        metavar="SPEC",
        help="a map name or spec (e.g. sharded,shards=8 or ./my_map.py:MyMap); default: all",
    )
    add(
        "--workload",
        dest="workloads",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a workload, repeatable or comma-separated: {', '.join(WORKLOADS)}; default: all "
        f"({', '.join(QUICK_PLAN.workloads)} quick)",
    )
    add(
        "--key-kind",
        dest="key_kinds",
        action="append",
        default=[],
        metavar="KIND",
        help=f"a key kind, repeatable or comma-separated: {', '.join(KEY_KINDS)}; "
        f"default: {', '.join(DEFAULT_PLAN.key_kinds)} ({', '.join(QUICK_PLAN.key_kinds)} quick)",
    )
    add(
        "--value-kind",
        dest="value_kinds",
        action="append",
        default=[],
        metavar="KIND",
        help=f"a value kind, repeatable or comma-separated: {', '.join(VALUE_KINDS)}; default: "
        "int, plus the plan's cases with values the collector scans (write-heavy with records, "
        "...); C and mmap maps store the same data as bytes",
    )
    add(
        "--size",
        dest="sizes",
        action="append",
        default=[],
        type=int,
        metavar="N",
        help=f"number of keys (repeatable); default: {DEFAULT_PLAN.sizes[0]} "
        f"({QUICK_PLAN.sizes[0]} quick)",
    )
    add(
        "--python",
        dest="pythons",
        action="append",
        default=[],
        metavar="VERSION|PATH",
        help="run under this interpreter too, e.g. --python 3.10 --python 3.13 (default: this "
        "one); others get a cached venv with this mapbench installed",
    )
    add(
        "--with",
        dest="with_packages",
        action="append",
        default=[],
        metavar="PKG",
        help="also install this package (a pip requirement or a local path; repeatable) into "
        "the environments built for --python, e.g. --with 'mapbench[peers]' or --with ./mymaps; "
        "without --python, this interpreter's version gets one",
    )
    add(
        "--quick",
        action="store_true",
        help="fewer pyperf processes and one small size: about two minutes for every map",
    )
    add(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="deadline of loading each map and of each pass of each benchmark (default "
        f"{DEFAULT.timeout:g}, quick {QUICK.timeout:g})",
    )
    add(
        "--hash-seed",
        default="0",
        metavar="N",
        help="PYTHONHASHSEED of every benchmark process (default 0; str-key results depend on it)",
    )
    add("--seed", type=int, default=0, help="seed of the generated keys (default 0)")
    add("--no-metrics", action="store_true", help="timing only: skip the collector passes")
    add(
        "--shard",
        metavar="K/N",
        help="run only shard K of N: each case's shard is fixed by a hash of its name, so N jobs "
        "(machines, CI matrix entries) running K=1..N cover every case once",
    )
    add(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="results directory (default: results/run-<date>-<time>); earlier results in it "
        "are kept: this run's files get a new name (metrics-<X.Y>-2.json, ...)",
    )
    add(
        "--overwrite",
        action="store_true",
        help="replace the earlier run's files in DIR instead, once this run has completed "
        "(an interrupted run replaces nothing)",
    )


def cmd_run(args: argparse.Namespace) -> int:
    from mapbench.runner.suite import run_suite
    from mapbench.runner.venvs import source_root

    check_hash_seed(args.hash_seed)
    plan = QUICK_PLAN if args.quick else DEFAULT_PLAN
    settings = replace(
        QUICK if args.quick else DEFAULT,
        hash_seed=args.hash_seed,
        collectors=() if args.no_metrics else None,
    )
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UsageError(f"--timeout must be positive, not {args.timeout:g}")
        settings = replace(settings, timeout=args.timeout)
    # Maps may be installed only in the environments --with builds: their workers check names.
    maps, notes = select_maps(args.maps, check_names=not args.with_packages)
    chosen = _split(args.workloads), _split(args.value_kinds)
    cases = make_cases(
        maps,
        chosen[0] or plan.workloads,
        _split(args.key_kinds) or plan.key_kinds,
        args.sizes or plan.sizes,
        args.seed,
        chosen[1] or ("int",),
        () if any(chosen) else plan.reference_cases,  # the plan's, unless told what to run
    )
    if args.shard:
        cases = shard(cases, *parse_shard(args.shard))
    targets = _targets(args.pythons, args.with_packages)
    default = Path("results") / _dt.datetime.now().strftime("run-%Y%m%d-%H%M%S")
    output = output_directory(args.output or default, "-o")
    progress = Progress(len(cases) * len(targets))
    for note in notes:
        progress.note(f"not run: {note}")
    root = source_root()
    results, skipped = run_suite(
        cases,
        targets,
        settings,
        output,
        commit_dir=str(root) if root else str(Path.cwd()),
        progress=progress,
        run_info={"quick": args.quick, "argv": sys.argv[1:], "shard": args.shard or ""},
        overwrite=args.overwrite,
    )
    print(summary(results, [*notes, *skipped]))
    print(f"\nresults: {output}\nnext: mapbench report {output} -o {output / 'report.html'}")
    return 0 if all(r.status == "ok" for r in results) else 1


def _split(values: list[str]) -> list[str]:
    """Repeated options, each possibly comma-separated."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _targets(requests: list[str], packages: list[str]) -> list[Target]:
    from mapbench.runner.venvs import runtime_for

    if not requests and not packages:
        return [current_target()]
    targets: dict[str, Target] = {}
    for request in requests or [current_target().tag]:
        executable = runtime_for(request, extra=packages)
        tag = ".".join(python_version(executable).split(".")[:2])
        if tag in targets:
            raise UsageError(f"--python {request} is Python {tag} again; give each version once")
        targets[tag] = Target(tag, executable, request)
    return list(targets.values())
