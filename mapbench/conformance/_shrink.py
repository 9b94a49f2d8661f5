"""Shrinking a failing program to the shortest one that still fails the same clause.

Passes, repeated until none helps or the deadline passes: cut chunks of steps (halves down to
single steps), merge adjacent loops over one formula, narrow each loop's range (by halves,
then by one), and write a one-key loop as the single step it is. Each candidate is a full
fresh run, so a program that shrinks is one that fails on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mapbench.conformance._program import BULK, Mismatch, Program, Step
from mapbench.conformance.keys import FORMULAS

Runner = Callable[[Program], "Mismatch | None"]


@dataclass(frozen=True)
class Shrunk:
    """The shortest failing program found, its failure, and whether shrinking finished."""

    program: Program
    mismatch: Mismatch
    finished: bool
    seconds: float


def shrink(
    run: Runner,
    program: Program,
    first: Mismatch,
    deadline: float,
    starts: tuple[Program, ...] = (),
) -> Shrunk:
    """Shrink `program` (which fails with `first`) until no pass helps or `deadline` passes.

    `starts` are shorter programs the caller expects to fail the same way (a loop's prefix
    replaced by the state it built): tried first, kept if they do.
    """
    began = time.monotonic()
    best, mismatch = program[: first.index + 1], first
    for start in starts:
        found = run(start)
        if found is not None and found.clause == first.clause and _cost(start) < _cost(best):
            best, mismatch = start[: found.index + 1], found
    while True:
        for candidate in _candidates(best):
            if time.monotonic() >= deadline:
                return Shrunk(best, mismatch, False, time.monotonic() - began)
            if _cost(candidate) >= _cost(best):
                continue
            found = run(candidate)
            if found is not None and found.clause == mismatch.clause:
                best, mismatch = candidate[: found.index + 1], found
                break
        else:
            return Shrunk(best, mismatch, True, time.monotonic() - began)


def _cost(program: Program) -> tuple[int, int]:
    """Fewer steps first, then fewer keys touched by loops."""
    return len(program), sum(s.args[2] - s.args[1] for s in program if s.op in BULK)


def _candidates(program: Program) -> Iterator[Program]:
    n = len(program)
    size = n // 2 or 1
    while size >= 1:
        for start in range(0, n, size):
            yield program[:start] + program[start + size :]
        size //= 2
    for i in range(n - 1):
        merged = _merge(program[i], program[i + 1])
        if merged is not None:
            yield (*program[:i], merged, *program[i + 2 :])
    for i, step in enumerate(program):
        for narrower in _narrower(step):
            yield (*program[:i], narrower, *program[i + 1 :])


def _merge(a: Step, b: Step) -> Step | None:
    same_loop = a.op == b.op and a.op in BULK and a.args[0] == b.args[0]
    if same_loop and a.args[3:] == b.args[3:] and a.args[2] == b.args[1]:
        return Step(a.op, (a.args[0], a.args[1], b.args[2], *a.args[3:]))
    return None


def _narrower(step: Step) -> Iterator[Step]:
    if step.op not in BULK:
        return
    formula, lo, hi, *rest = step.args
    width = hi - lo
    if width == 1 and step.op in ("fill", "drop"):
        key = FORMULAS[formula](lo)
        yield Step("set", (key, lo)) if step.op == "fill" else Step("del", (key,))
    for cut in sorted({width // 2, 1}, reverse=True):
        if 0 < cut < width:
            yield Step(step.op, (formula, lo + cut, hi, *rest))
            yield Step(step.op, (formula, lo, hi - cut, *rest))
