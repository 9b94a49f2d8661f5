"""Shrinking a failing program to the shortest one that still fails the same clause.

Passes, repeated until none helps or the deadline passes: cut chunks of steps (halves down to
single steps), merge adjacent loops over one formula, narrow each loop's range (by halves,
then by one), and write a one-key loop as the single step it is; last, keys equal to an
earlier key (1.0 after 1) become that key if the failure stays. Each candidate is a full
fresh run, so a program that shrinks is one that fails on its own. `needs` then tells
whether the failure needs its colliding or equal-but-different keys.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

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
            break
    plain = plain_keys(best)
    found = run(plain) if repr(plain) != repr(best) else None
    if found is not None and found.clause == mismatch.clause:
        best, mismatch = plain[: found.index + 1], found
    return Shrunk(best, mismatch, True, time.monotonic() - began)


def _keys(program: Program) -> list[Any]:
    """The keys the steps name (bulk steps name formulas, not keys)."""
    return [s.args[0] for s in program if s.args and s.op not in BULK and _hashable(s.args[0])]


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def plain_keys(program: Program) -> Program:
    """`program` with each key replaced by the first key equal to it (1.0 and True by 1)."""
    return _rekeyed(program, _first_equal(program))


def _first_equal(program: Program) -> dict[tuple[type, Any], Any]:
    firsts: list[Any] = []
    chosen = {}
    for key in _keys(program):
        first = next((f for f in firsts if f == key and hash(f) == hash(key)), None)
        if first is None:
            firsts.append(key)
            first = key
        chosen[type(key), key] = first
    return chosen


def _rekeyed(program: Program, keys: dict[tuple[type, Any], Any]) -> Program:
    """`program` with each step's key replaced as `keys` says."""
    return tuple(
        Step(s.op, (keys.get((type(s.args[0]), s.args[0]), s.args[0]), *s.args[1:]))
        if s.args and s.op not in BULK and _hashable(s.args[0])
        else s
        for s in program
    )


def needs(run: Runner, shrunk: Shrunk, variant: Callable[[Program], Program]) -> bool:
    """Whether the failure goes away when the program's keys are changed by `variant`."""
    changed = variant(shrunk.program)
    if repr(changed) == repr(shrunk.program):  # 1 == 1.0: steps compare equal across types
        return False
    found = run(changed)
    return found is None or found.clause != shrunk.mismatch.clause


def apart(program: Program) -> Program:
    """`program` with every key whose hash collides with an earlier, unequal key's replaced by
    a key of its type whose hash collides with none (for a failure that needs collisions)."""
    keys = list(dict.fromkeys((type(k), k) for k in _keys(program)))
    hashes = {hash(k) for _, k in keys}
    replaced = {}
    for index, (t, key) in enumerate(keys):
        if any(hash(k) == hash(key) and k != key for _, k in keys[:index]):
            fresh = next(c for c in _fresh(key) if hash(c) not in hashes)
            hashes.add(hash(fresh))
            replaced[t, key] = fresh
    return _rekeyed(program, replaced)


def _fresh(key: Any) -> Iterator[Any]:
    """Keys of `key`'s kind that no program of the kit holds (ints for numbers and Colliders,
    whose five hashes may all be taken)."""
    for n in itertools.count(7_000_003):
        if isinstance(key, str):
            yield f"fresh{n}"
        elif isinstance(key, bytes):
            yield b"fresh%d" % n
        else:
            yield n


def _cost(program: Program) -> tuple[int, int]:
    """Fewer steps first, then fewer keys touched by loops."""
    return len(program), sum(s.args[2] - s.args[1] for s in program if s.op in BULK)


def _candidates(program: Program) -> Iterator[Program]:
    yield from _pairs(program)
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


def _pairs(program: Program) -> Iterator[Program]:
    """The program cut down to the failing step's key and one other key (with its loops and
    keyless steps): a failure of two keys in one table (a lost tombstone) needs only them,
    though removing any one other key alone moves the table past it."""
    last = program[-1] if program else None
    if last is None or not last.args or last.op in BULK or len(program) <= 3:
        return
    target = repr(last.args[0])
    for other in dict.fromkeys(repr(k) for k in _keys(program)):
        yield tuple(
            s for s in program if s.op in BULK or not s.args or repr(s.args[0]) in (target, other)
        )


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
