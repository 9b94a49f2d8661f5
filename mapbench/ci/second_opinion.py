"""Second opinions on time rows before `mapbench ci` gives its verdict.

- **More rounds where they help.** A case whose time interval is too wide to tell the minimum
  effect from its opposite (what makes a row too noisy: a fast mode of too few processes, a
  spread) gets as many rounds again, added to its first ones (`more_rounds`). The rule reads
  the interval's width whatever the verdict, never where it lies, so it cannot steer the
  verdict; confirmation rounds get the same.
- **Confirmation.** A time row fails the build only if the evidence survives fresh evidence:
  new interleaved rounds of just the flagged cases (as many as the first pass had), compared on
  their own, must call the same row a regression too; where they are too noisy to say, the row
  is too noisy (and goes to the instruction counts below), otherwise inconclusive. A rule of
  "the interval excludes no change" fails about alpha/2 of noisy identical rows by
  construction; asking twice, on independent rounds, makes that rate about its square.
- **An answer for Verdict.TOO_NOISY.** Where a time row stays too noisy after the rounds the budget
  allowed, its case's instructions per operation are counted under callgrind on both sides
  (`mapbench.ci.instructions`): a clock no neighbour can move. The row then reads the verdict
  the instruction counts give against the same minimum effect, labelled as such; Verdict.TOO_NOISY
  remains only where no count could be taken, and the note says what was tried.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from mapbench import formatting
from mapbench.case import CaseId
from mapbench.ci import adaptive, instructions
from mapbench.ci.interleave import Progress, Runner, Side, SideRuns, run_interleaved
from mapbench.ci.results_io import look
from mapbench.compare import Comparison, Verdict
from mapbench.errors import MapbenchError
from mapbench.thresholds import Thresholds

_CLOCKS = ("time", "cpu_time")
# Too-noisy cases given instruction counts in one comparison: each costs four valgrind runs.
MAX_COUNTED = 4
# What an instruction count is and is not, said wherever one stands in for a time.
INSTRUCTION_CAVEAT = (
    "instructions count the interpreter's work (Python-level) and the C code's alike; they do "
    "not see cache misses or memory stalls, and one instruction is not one unit of time"
)


def _case_of(row: Any, cases: Sequence[CaseId]) -> CaseId | None:
    """The measured case a verdict row belongs to."""
    key = (row.map, row.workload, row.key_kind, row.size)
    return next((c for c in cases if (c.map, c.workload, c.key_kind, c.size) == key), None)


def _rows(comparison: Comparison, verdict: str) -> list[tuple[int, Any]]:
    """(index, row) of every time row with this verdict."""
    rows = comparison.rows
    return [
        (int(i), row)
        for i, row in zip(rows.index, rows.itertuples(index=False), strict=True)
        if row.metric in _CLOCKS and row.verdict == verdict
    ]


def _with_rows(comparison: Comparison, changes: dict[int, tuple[str, str]]) -> Comparison:
    """The comparison with some rows' verdict and note replaced."""
    if not changes:
        return comparison
    rows = comparison.rows.copy()
    for i, (verdict, note) in changes.items():
        rows.at[i, "verdict"] = verdict
        rows.at[i, "note"] = note
    return dataclasses.replace(comparison, rows=rows)


def confirm(
    comparison: Comparison,
    sides: tuple[Side, Side],
    cases: Sequence[CaseId],
    *,
    rounds: int,
    reps: int,
    timeout: float,
    progress: Progress,
) -> Comparison:
    """Re-measure the cases of time rows flagged as regressions in `rounds` fresh interleaved
    rounds, judged on their own; a regression stands only where they agree, and turns "too
    noisy" where they cannot tell."""
    flagged = {i: _case_of(row, cases) for i, row in _rows(comparison, Verdict.REGRESSION)}
    fresh_cases = sorted({c for c in flagged.values() if c is not None})
    if not fresh_cases:
        return comparison
    progress(f"confirming {len(fresh_cases)} flagged case(s): {rounds} fresh interleaved rounds")
    with Runner(fresh_cases, timeout=timeout) as runner:
        runs = run_interleaved(
            runner, sides, rounds=rounds, reps=reps, deterministic=False, progress=progress
        )
    fresh = look(*runs, fresh_cases, comparison.thresholds)
    more = more_rounds(runs, fresh, rounds=rounds, reps=reps, timeout=timeout, progress=progress)
    if more:
        fresh = look(*runs, fresh_cases, comparison.thresholds)
    second = {
        case: row
        for row in fresh.rows[fresh.rows["metric"].isin(_CLOCKS)].itertuples(index=False)
        if (case := _case_of(row, fresh_cases)) is not None
    }
    changes: dict[int, tuple[str, str]] = {}
    for i, case in flagged.items():
        again = second.get(case) if case is not None else None
        old = str(comparison.rows.at[i, "note"])
        if again is None:
            said = "the fresh rounds measured nothing"
        else:
            change, interval = formatting.change_and_interval(
                again.ratio, again.ci_low, again.ci_high
            )
            n = f"{rounds} + {rounds}" if case in more else f"{rounds}"
            said = f"{n} fresh interleaved rounds read {change} {interval} ({again.verdict})"
        if again is not None and again.verdict == Verdict.REGRESSION:
            changes[i] = (Verdict.REGRESSION, _join(old, f"confirmed: {said}"))
        elif (
            again is not None and again.verdict == Verdict.TOO_NOISY
        ):  # undecided: ask instructions
            changes[i] = (Verdict.TOO_NOISY, _join(f"not confirmed: {said}; {again.note}", old))
        else:
            changes[i] = (Verdict.INCONCLUSIVE, _join(old, f"not confirmed: {said}"))
    return _with_rows(comparison, changes)


def more_rounds(
    runs: tuple[SideRuns, SideRuns],
    judged: Comparison,
    *,
    rounds: int,
    reps: int,
    timeout: float,
    progress: Progress,
) -> list[CaseId]:
    """Give each case whose time interval in `judged` (the comparison of `runs`) is too wide
    to tell the minimum effect from its opposite `rounds` more interleaved rounds, added to
    the processes `runs` hold; the cases given them (judge `runs` again when there are any)."""
    cases = list(runs[0].rounds)
    wide = adaptive.loose(judged, bands=2)
    noisy = sorted({c for row in wide if (c := _case_of(row, cases)) is not None})
    if not noisy:
        return []
    progress(f"time intervals too wide: {rounds} more interleaved rounds of {len(noisy)} case(s)")
    with Runner(noisy, timeout=timeout) as runner:
        extra = run_interleaved(
            runner, (runs[0].side, runs[1].side), rounds=rounds, reps=reps,
            deterministic=False, progress=progress,
        )  # fmt: skip
    for old, new in zip(runs, extra, strict=True):
        for case, processes in new.rounds.items():
            old.rounds.setdefault(case, []).extend(processes)
    return noisy


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def answer_too_noisy(
    comparison: Comparison,
    sides: tuple[Side, Side],
    cases: Sequence[CaseId],
    *,
    rounds: int,
    timeout: float,
    progress: Progress,
    count: Callable[[Runner, Side], float] = instructions.per_operation,
) -> Comparison:
    """Give each too-noisy time row the verdict of its case's instruction counts, if they can
    be taken; otherwise keep "too noisy" and say what was tried."""
    noisy = _rows(comparison, Verdict.TOO_NOISY)
    if not noisy:
        return comparison
    tried = f"tried: {rounds} interleaved rounds"
    changes: dict[int, tuple[str, str]] = {}
    for n, (i, row) in enumerate(noisy):
        old = str(comparison.rows.at[i, "note"])
        case = _case_of(row, cases)
        if not instructions.available():
            changes[i] = (
                Verdict.TOO_NOISY,
                _join(old, f"{tried}; instruction counts: no valgrind"),
            )
            continue
        if case is None or n >= MAX_COUNTED:
            why = f"more than {MAX_COUNTED} too-noisy cases" if case else "case not found"
            changes[i] = (
                Verdict.TOO_NOISY,
                _join(old, f"{tried}; instruction counts not taken ({why})"),
            )
            continue
        progress(f"too noisy on time: counting instructions of {case} under callgrind")
        try:
            with Runner([case], timeout=timeout) as runner:
                base, head = (count(runner, side) for side in sides)
        except (MapbenchError, subprocess.SubprocessError) as exc:
            changes[i] = (
                Verdict.TOO_NOISY,
                _join(old, f"{tried}; instruction counts failed: {exc}"),
            )
            continue
        changes[i] = _judged_on_instructions(base, head, comparison.thresholds, old)
    return _with_rows(comparison, changes)


def _judged_on_instructions(
    base: float, head: float, t: Thresholds, time_note: str
) -> tuple[str, str]:
    """The verdict instructions per operation give against the time threshold, and its note."""
    ratio = head / base if base > 0 else math.nan
    band = 1 + t.min_effect
    if not math.isfinite(ratio):
        verdict = Verdict.TOO_NOISY
    elif 1 / band <= ratio <= band:
        verdict = Verdict.NO_CHANGE
    else:
        verdict = Verdict.REGRESSION if ratio > 1 else Verdict.IMPROVEMENT
    counts = (
        f"judged on instructions (callgrind), not time: {base:,.0f} -> {head:,.0f} "
        f"instructions/op ({formatting.change(ratio)}; {INSTRUCTION_CAVEAT})"
    )
    return verdict, _join(counts, f"time was too noisy: {time_note}")


__all__ = ["INSTRUCTION_CAVEAT", "MAX_COUNTED", "answer_too_noisy", "confirm", "more_rounds"]
