"""How sensitive is `mapbench ci`? Inject known slowdowns into a test map and count verdicts.

    python -m mapbench.ci.sensitivity --trials 10 --slowdown 0 --slowdown 5 ...

For each slowdown (extra work per lookup, in percent of the map's base work) and trial, the same
comparison `mapbench ci` makes is run twice with the same number of worker processes: interleaved
(A B, B A, ...) and back to back (all of A, then all of B), each judged by `mapbench.compare` with
the CI thresholds. The 0% rows are false alarms. Instruction counts under callgrind (when valgrind
is installed) show how exact the deterministic route is: one measurement per side, no statistics.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mapbench.ci import instructions
from mapbench.ci.interleave import Runner, Side, run_interleaved
from mapbench.ci.results_io import compare_runs
from mapbench.ci.slowmap import WORK
from mapbench.measure.case import CaseId
from mapbench.thresholds import Thresholds

SPEC = "mapbench.ci.slowmap:SlowMap"
LABEL = "slowmap"


@dataclass(frozen=True)
class Row:
    """Outcomes at one slowdown: flagged counts per method, and the instruction-count ratio."""

    slowdown: float
    trials: int
    interleaved: int
    back_to_back: int
    interleaved_ratio: float  # median measured time ratio over the trials
    back_to_back_ratio: float
    instruction_ratio: float | None  # head / base instructions per lookup (None: no valgrind)
    seconds: float  # wall time of one comparison (per method)


def _sides(extra: float) -> tuple[Side, Side]:
    spec = {LABEL: SPEC}
    return (
        Side("base", sys.executable, specs=spec),
        Side("head", sys.executable, specs={LABEL: f"{SPEC},extra={extra!r}"}),
    )


def _flagged(
    runner: Runner, extra: float, interleave: bool, args: argparse.Namespace
) -> tuple[bool, float]:
    """One comparison: whether it flags a time regression, and the measured ratio."""
    base, head = run_interleaved(
        runner,
        _sides(extra),
        rounds=args.rounds,
        reps=args.reps,
        interleave=interleave,
        deterministic=False,
    )
    with tempfile.TemporaryDirectory(prefix="mapbench-sensitivity-") as tmp:
        comparison, _ = compare_runs(
            base, head, runner.cases, Thresholds(min_effect=args.threshold), Path(tmp), {}
        )
    row = comparison.rows[comparison.rows["metric"] == "time"].iloc[0]
    return row["verdict"] == "regression", float(row["ratio"])


def measure(args: argparse.Namespace) -> list[Row]:
    """Every slowdown level, `args.trials` times each, both methods alternating per trial."""
    case = CaseId(LABEL, "lookup-hit", "random-int", args.size)
    rows = []
    with Runner([case]) as runner:
        for extra in args.slowdowns:
            counts = {True: 0, False: 0}
            ratios: dict[bool, list[float]] = {True: [], False: []}
            start = time.monotonic()
            for trial in range(args.trials):
                # Alternate which method goes first, so neither always meets the same noise.
                for interleave in (True, False) if trial % 2 == 0 else (False, True):
                    flagged, ratio = _flagged(runner, extra, interleave, args)
                    counts[interleave] += flagged
                    ratios[interleave].append(ratio)
                print(f"slowdown {extra:g}%: trial {trial + 1}/{args.trials}", file=sys.stderr)
            seconds = (time.monotonic() - start) / max(1, 2 * args.trials)
            rows.append(
                Row(
                    extra,
                    args.trials,
                    counts[True],
                    counts[False],
                    _median(ratios[True]),
                    _median(ratios[False]),
                    _instruction_ratio(runner, extra) if args.instructions else None,
                    seconds,
                )
            )
    return rows


def _instruction_ratio(runner: Runner, extra: float) -> float:
    base, head = _sides(extra)
    return instructions.per_operation(runner, head) / instructions.per_operation(runner, base)


def _median(values: Sequence[float]) -> float:
    if not values:  # --trials 0: instruction counts only
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def table(rows: Sequence[Row], args: argparse.Namespace) -> str:
    """The results as a Markdown table with the machine, settings and date above it."""
    seconds = sum(r.seconds for r in rows) / len(rows)
    lines = [
        f"Measured {_dt.date.today().isoformat()} on {socket.gethostname()} "
        f"({platform.machine()}, {os.cpu_count()} CPUs, shared with other work), Python "
        f"{platform.python_version()}. Test map: a lookup spinning {WORK} loop iterations, plus "
        f"the extra percent; workload lookup-hit, {args.size} keys. Each comparison: "
        f"{args.rounds} worker processes per side x {args.reps} runs, about {seconds:.1f} s; "
        f"verdict by mapbench.compare (p10 ratio, Mann-Whitney + BH at 0.05, minimum effect "
        f"{args.threshold:.0%}); {args.trials} trials per row.",
        "",
        "| extra work | interleaved: flagged | back to back: flagged | median time ratio "
        "(interleaved / back to back) | instructions ratio (callgrind) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        insn = f"{r.instruction_ratio:.4f}" if r.instruction_ratio is not None else "not run"
        lines.append(
            f"| {r.slowdown:g}% | {r.interleaved}/{r.trials} | {r.back_to_back}/{r.trials} | "
            f"{r.interleaved_ratio:.3f} / {r.back_to_back_ratio:.3f} | {insn} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mapbench.ci.sensitivity", description=__doc__)
    parser.add_argument("--slowdown", dest="slowdowns", type=float, action="append")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--threshold", type=float, default=0.03)
    parser.add_argument("--instructions", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args(argv)
    args.slowdowns = args.slowdowns or [0.0, 2.0, 5.0, 10.0, 20.0]
    if args.instructions is None:
        args.instructions = instructions.available()
    print(table(measure(args), args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
