"""How sensitive is `mapbench ci`? Inject known slowdowns into a test map and count verdicts.

    python -m mapbench.ci.sensitivity --trials 20 --budget 60 --background-load 2

For each trial and slowdown (extra work per lookup, in percent of the map's base work), the
comparison `mapbench ci` makes is run: interleaved worker processes, `--rounds` of them per side
and, with `--budget`, more until the interval is tight or the budget is spent, judged by
`mapbench.compare` on the CI's clock. Slowdowns take turns within each trial, so every level
meets the same changes of machine load. The 0% rows are false alarms; "too noisy" is counted
apart from "flagged". `--background-load N` runs N busy-loop processes for the whole benchmark
(stopped on any exit). Instruction counts under callgrind (when valgrind is installed) show the
true extra work: one measurement per side, no statistics.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapbench.case import CaseId
from mapbench.ci import adaptive, instructions
from mapbench.ci.background import busy_loops
from mapbench.ci.interleave import Runner, Side, SideRuns, run_interleaved
from mapbench.ci.results_io import compare_runs
from mapbench.ci.slowmap import WORK
from mapbench.compare import Comparison
from mapbench.environment import cpu_model, load_average
from mapbench.thresholds import Thresholds

SPEC = "mapbench.ci.slowmap:SlowMap"
LABEL = "slowmap"


@dataclass
class Level:
    """Outcomes at one slowdown over the trials."""

    slowdown: float
    verdicts: Counter[str] = field(default_factory=Counter)
    ratios: list[float] = field(default_factory=list)  # measured change, per trial
    seconds: list[float] = field(default_factory=list)  # per comparison
    rounds: list[int] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # 1-minute load average after each trial
    instruction_ratio: float | None = None  # head / base instructions per lookup


def _sides(extra: float) -> tuple[Side, Side]:
    spec = {LABEL: SPEC}
    return (
        Side("base", sys.executable, specs=spec),
        Side("head", sys.executable, specs={LABEL: f"{SPEC},extra={extra!r}"}),
    )


def _judge(base: SideRuns, head: SideRuns, args: argparse.Namespace, out: Path) -> Comparison:
    thresholds = Thresholds(min_effect=args.threshold)
    comparison, _ = compare_runs(base, head, [_case(args)], thresholds, out, {})
    return comparison


def _case(args: argparse.Namespace) -> CaseId:
    return CaseId(LABEL, "lookup-hit", "random-int", args.size)


def trial(runner: Runner, level: Level, args: argparse.Namespace, keep: Path | None) -> None:
    """One comparison at `level`'s slowdown, recorded into it."""
    started = time.monotonic()
    base, head = run_interleaved(
        runner, _sides(level.slowdown), rounds=args.rounds, reps=args.reps, deterministic=False
    )
    with tempfile.TemporaryDirectory(prefix="mapbench-sensitivity-") as tmp:
        if args.budget:
            adaptive.extend(
                runner,
                (base, head),
                reps=args.reps,
                budget=args.budget,
                started=started,
                judge=lambda a, b: _judge(a, b, args, Path(tmp)),
                progress=lambda _: None,
            )
        level.seconds.append(time.monotonic() - started)
        comparison = _judge(base, head, args, Path(tmp))
        if keep is not None:
            dest = keep / f"{level.slowdown:g}" / f"trial-{len(level.seconds):02d}"
            shutil.copytree(tmp, dest, dirs_exist_ok=True)
    row = comparison.rows[comparison.rows["metric"].isin(("time", "cpu_time"))].iloc[0]
    level.verdicts[str(row["verdict"])] += 1
    level.ratios.append(float(row["ratio"]))
    level.rounds.append(len(base.processes))
    loads = load_average()
    level.loads.append(loads[0] if loads else float("nan"))


def measure(args: argparse.Namespace) -> list[Level]:
    """Every slowdown, `args.trials` times, the levels taking turns within each trial."""
    levels = [Level(s) for s in args.slowdowns]
    keep = Path(args.keep) if args.keep else None
    with busy_loops(args.background_load), Runner([_case(args)]) as runner:
        for t in range(args.trials):
            for level in levels if t % 2 == 0 else levels[::-1]:
                trial(runner, level, args, keep)
                print(
                    f"trial {t + 1}/{args.trials}, slowdown {level.slowdown:g}%: "
                    f"{level.verdicts.most_common()} ({level.seconds[-1]:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        if args.instructions:
            for level in levels:
                level.instruction_ratio = _instruction_ratio(runner, level.slowdown)
    return levels


def _instruction_ratio(runner: Runner, extra: float) -> float:
    base, head = _sides(extra)
    return instructions.per_operation(runner, head) / instructions.per_operation(runner, base)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(levels: Sequence[Level], args: argparse.Namespace) -> str:
    """The results as a Markdown table with the machine, settings and date above it."""
    seconds = [s for level in levels for s in level.seconds]
    loads = [x for level in levels for x in level.loads]
    budget = f"adaptive up to {args.budget:g} s" if args.budget else "fixed rounds"
    lines = [
        f"Measured {_dt.date.today().isoformat()} on {platform.node()} ({cpu_model()}, "
        f"{os.cpu_count()} CPUs), Python {platform.python_version()}, background load "
        f"{args.background_load} busy loop(s); 1-minute load average after the trials "
        f"{min(loads, default=float('nan')):.1f}-{max(loads, default=float('nan')):.1f}. "
        f"Test map: a lookup spinning {WORK} loop iterations plus the extra percent; workload "
        f"lookup-hit, {args.size} keys. Each comparison: {args.rounds} interleaved worker "
        f"processes per side x {args.reps} runs, {budget} (median "
        f"{_median(seconds):.0f} s, longest {max(seconds, default=0):.0f} s); verdict by "
        f"mapbench.compare (CPU time, per-process p10, Hodges-Lehmann shift with its "
        f"Mann-Whitney interval, minimum effect {args.threshold:.0%}); {args.trials} trials "
        "per row.",
        "",
        "| extra work | flagged (regression) | too noisy | no change / inconclusive / "
        "improvement | median change | median rounds | instructions ratio (callgrind) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        v, n = level.verdicts, args.trials
        insn = "not run" if level.instruction_ratio is None else f"{level.instruction_ratio:.4f}"
        lines.append(
            f"| {level.slowdown:g}% | {v['regression']}/{n} | {v['too noisy']}/{n} | "
            f"{v['no change']} / {v['inconclusive']} / {v['improvement']} | "
            f"{_median(level.ratios) - 1:+.1%} | {_median(level.rounds):g} | {insn} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mapbench.ci.sensitivity", description=__doc__)
    parser.add_argument("--slowdown", dest="slowdowns", type=float, action="append")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--budget", type=float, help="seconds per comparison (adaptive rounds)")
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--threshold", type=float, default=0.03)
    parser.add_argument("--background-load", type=int, default=0, metavar="N")
    parser.add_argument("--keep", metavar="DIR", help="keep every trial's result files here")
    parser.add_argument("--instructions", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args(argv)
    args.slowdowns = args.slowdowns or [0.0, 2.0, 5.0, 10.0, 20.0]
    if args.trials < 0 or args.rounds < 2 or args.background_load < 0:
        print("--trials >= 0, --rounds >= 2 and --background-load >= 0, please", file=sys.stderr)
        return 2
    if args.instructions is None:
        args.instructions = instructions.available()
    print(table(measure(args), args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
