"""The programs the kit runs on a map and the search for a failure.

Guided programs come first and are the same every run: one per clause of the contract, every
size up to a few hundred keys (grown one key at a time, each size probed with overwrites,
lookups, a delete and a re-insert, and a full comparison), and the sizes around the growth
and shrink boundaries of power-of-two tables (fill, overwrite all, shrink to an eighth, churn,
clear). Random programs, seeded, fill the rest of the time budget. The first failure is shrunk
within its own time limit.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mapbench.conformance._program import OPS, Mismatch, Program, Step, render, run
from mapbench.conformance._shrink import Runner, Shrunk, apart, needs, plain_keys, shrink
from mapbench.conformance.assumptions import Assumptions
from mapbench.conformance.clauses import CLAUSES
from mapbench.conformance.keys import FORMULAS, Family, equal_but_different


@dataclass(frozen=True)
class Probe:
    """A program, the clause it aims at, and shorter programs to try first if it fails at a
    step (the state a loop built, written as one fill)."""

    program: Program
    aim: str | None = None
    restarts: Callable[[int], tuple[Program, ...]] = field(default=lambda _index: ())


def _usable(a: Assumptions, steps: list[Step]) -> Program:
    return tuple(s for s in steps if _offered(a, s.op))


def _offered(a: Assumptions, op: str) -> bool:
    """Whether the map has the method `op` calls (and, for `setdefault(k)`, stores None)."""
    method = OPS[op].method
    return (not method or method in a.methods) and (op != ".setdefault" or a.any_value)


def clause_probes(a: Assumptions, group: tuple[Family, ...]) -> list[Probe]:
    """One small program per clause of the contract."""
    pool = [k for f in group for k in f.pool]
    x = pool[0]
    y = next(k for k in pool[1:] if k != x) if len(pool) > 1 else x
    f = group[0].formulas[0]
    S = Step
    probes = {
        "getitem-missing": [S("len"), S("iter"), S("in", (x,)), S("get", (x,)), S(".get", (x,)),
                            S(".get2", (x, "d")), S("del", (x,)), S(".pop", (x,)),
                            S(".pop2", (x, "d")), S(".popitem"), S(".views", (x,)), S(".eq")],
        "setitem": [S("set", (x, 0)), S("in", (x,)), S("set", (x, 1)), S("get", (x,)),
                    S("in", (x,)), S(".get", (x,)),
                    S(".get2", (x, "d")), S("iter"), S("set", (x, 2)), S("get", (x,)),
                    S(".views", (x,)), S(".views", (y,)), S(".eq")],
        "pop": [S("set", (x, 1)), S("set", (y, 2)), S(".views", (x,)), S(".pop", (x,)),
                S(".pop", (x,)), S(".pop2", (x, "d")), S(".views", (x,)), S(".pop2", (y, "d")),
                S("in", (x,)), S("iter"), S(".views", (y,))],
        "setdefault": [S(".setdefault", (x,)), S("get", (x,)), S(".setdefault2", (x, 5)),
                       S(".setdefault2", (y, 6)), S("get", (y,)), S("iter")],
        "popitem": [S("set", (x, 1)), S("set", (y, 2)), S(".popitem"), S(".popitem"),
                    S(".popitem"), S("iter")],
        "update": [S(".update-dict", (((x, 1), (y, 2)),)), S(".update-pairs", (((x, 3),),)),
                   S(".update-iter", (((y, 4), (x, 5)),)), S(".update-keys", (((x, 6),),)),
                   S(".update-none"), S("iter"), S("values")],
        "clear": [S("fill", (f, 0, 20)), S(".views", (x,)), S("del", (x,)), S(".views", (x,)),
                  S(".clear"), S(".views", (x,)), S("iter"), S("set", (x, 1)),
                  S("get", (x,)), S("iter"), S(".clear"), S(".clear"), S("fill", (f, 0, 40)),
                  S("iter"), S("values")],
        "failed-operation": [S("set", (x, 1)), S("set-unhashable", (2,)), S("get", (x,)),
                             S("del", (y,)), S(".pop", (y,)), S("get", (y,)), S("iter"),
                             S("values")],
        "read-during-iteration": [S("fill", (f, 0, 20)), S("read-iter")],
        "eq": [S(".eq"), S("fill", (f, 0, 9)), S(".eq"), S("set", (x, 1)), S(".eq")],
    }  # fmt: skip
    if any(isinstance(k, str) for k in pool):
        probes["update"].insert(-2, S(".update-kwargs", ((("kw", 7), (str(y), 8)),)))
    if a.any_key:
        probes["failed-operation"][2:2] = [S("set-badhash", (3,))]
    every = [S("set", (k, i)) for i, k in enumerate(pool)] + [S("iter"), S("values")]
    every += [S("in", (k,)) for k in pool]
    every += [S("set", (k, 1000 + i)) for i, k in enumerate(pool)] + [S("values")]
    probes["setitem"] += every + [S("del", (k,)) for k in pool] + [S("iter")]
    found = [Probe(_usable(a, steps), aim) for aim, steps in probes.items()]
    found += [Probe(_usable(a, steps), aim) for aim, steps in _twin_programs(pool)]
    return found


def _twin_programs(pool: list[Any]) -> Iterator[tuple[str, list[Step]]]:
    """Programs on keys a dict holds as one (1, 1.0, True) and on keys whose hashes collide."""
    classes: list[list[Any]] = []
    for key in pool:
        home = next((c for c in classes if c[0] == key and hash(c[0]) == hash(key)), None)
        if home is None:
            classes.append([key])
        else:
            home.append(key)
    for twins in (c for c in classes if any(equal_but_different(c[0], k) for k in c[1:])):
        steps = [Step("set", (k, i)) for i, k in enumerate(twins)]
        steps += [Step("get", (k,)) for k in twins] + [Step("in", (k,)) for k in twins]
        steps += [Step("iter"), Step("del", (twins[-1],)), Step("in", (twins[0],)), Step("iter")]
        yield "equal-keys", steps
    reps = [c[0] for c in classes]
    colliding = [k for k in reps if any(hash(k) == hash(o) and k != o for o in reps)]
    if colliding:
        steps = [Step("set", (k, i)) for i, k in enumerate(colliding)]
        steps += [Step("get", (k,)) for k in colliding] + [Step("iter")]
        steps += [Step("del", (k,)) for k in colliding[::2]]
        steps += [Step("get", (k,)) for k in colliding] + [Step("iter"), Step("values")]
        yield "colliding-hashes", steps


def _formulas(group: tuple[Family, ...], all_of_them: bool) -> list[str]:
    return [
        f for family in group for f in (family.formulas if all_of_them else family.formulas[:1])
    ]


def size_probes(group: tuple[Family, ...], top: int) -> list[Probe]:
    """Every size from 1 to `top`, one key at a time, probed at each size: overwrites of the
    oldest and newest key read back, a missing key, a delete and re-insert, iteration."""
    probes = []
    for f in _formulas(group, True):
        key = FORMULAS[f]
        blocks = []
        for n in range(top if f != "collider" else min(top, 48)):
            half = n // 2
            block = [
                Step("set", (key(n), n)),
                Step("set", (key(0), 10**6 + n)),
                Step("get", (key(0),)),
                Step("set", (key(n), 2 * 10**6 + n)),
                Step("get", (key(n),)),
                Step("in", (key(n + 1),)),
                Step("get", (key(n + 1),)),
                Step("del", (key(half),)),
                Step("in", (key(half),)),
                Step("set", (key(half), half)),
                Step("iter"),
            ]
            if n < 64 or n % 16 == 0:  # every value read back: O(n) a time, so not at each size
                block.append(Step("values"))
            blocks.append(((Step("fill", (f, 0, n)),), tuple(block)))
        probes.append(_chained(blocks))
    return probes


def _chained(blocks: Sequence[tuple[Program, Program]]) -> Probe:
    """One program (one map) made of blocks run in turn; each block comes with the prefix that
    builds the state it starts from, so a failure restarts as that prefix and its block."""
    program: list[Step] = []
    starts = []
    for _prefix, block in blocks:
        starts.append(len(program))
        program += block

    def restarts(index: int) -> tuple[Program, ...]:
        n = max(i for i, start in enumerate(starts) if start <= index)
        return ((*blocks[n][0], *program[starts[n] : index + 1]),)

    return Probe(tuple(program), "setitem", restarts)


def boundary_sizes(top: int) -> list[int]:
    """Sizes next to where power-of-two tables grow or shrink (loads 2/3, 3/4 and 1)."""
    sizes: set[int] = set()
    power = 8
    while power <= top:
        for base in (power * 2 // 3, power * 3 // 4, power):
            sizes.update((base - 1, base, base + 1))
        power *= 2
    return sorted(s for s in sizes if s <= top)


def boundary_probes(a: Assumptions, group: tuple[Family, ...], top: int, deep: bool) -> list[Probe]:
    """At each boundary size: grow to it, overwrite everything, shrink to an eighth, grow back,
    churn a quarter of the keys (a delete and an insert in turn: tombstones), clear and reuse.

    One map per formula walks every size (making a map can take longer than the block). The
    group's first formula goes up to `top`, the others to 2**7, or 2**10 when `deep` (where a
    table grows does not depend on its keys' type, mostly)."""
    probes = []
    for rank, f in enumerate(_formulas(group, deep)):
        last = FORMULAS[f]
        limit = top if rank == 0 else min(top, 2**10 if deep else 2**7)
        blocks = []
        for s in boundary_sizes(limit if f != "collider" else min(limit, 64)):
            keep = s // 8
            steps = [
                Step("fill", (f, 0, s)),
                Step("rewrite", (f, 0, s, 7)),
                Step("get", (last(0),)),
                Step("get", (last(s - 1),)),
                Step("iter"),
                Step("drop", (f, keep, s)),
                Step("iter"),
                Step("values"),
                Step("fill", (f, keep, s)),
                Step("churn", (f, 0, s // 4 + 1, s)),
                Step("iter"),
                Step("values"),
                Step(".clear"),
                Step("fill", (f, 0, 8)),
                Step("iter"),
                Step("values"),
                Step("drop", (f, 0, 8)),
            ]
            blocks.append(((), _usable(a, steps)))
        probes.append(_chained(blocks))
    return probes


_RANDOM_OPS = (
    ("set", 8), ("get", 4), ("del", 3), ("in", 2), ("iter", 1), ("values", 1), (".get", 1),
    (".get2", 1), (".pop", 2), (".pop2", 1), (".popitem", 1), (".setdefault", 1),
    (".setdefault2", 1), (".update-dict", 1), (".update-pairs", 1), (".clear", 1), (".eq", 1),
    (".views", 1), ("fill", 2), ("drop", 1), ("churn", 1), ("rewrite", 1), ("read-iter", 1),
)  # fmt: skip


def random_probes(
    a: Assumptions, group: tuple[Family, ...], rng: random.Random, length: int
) -> Iterator[Probe]:
    """Endless random programs over a few keys per program, so that keys repeat."""
    ops = [(name, w) for name, w in _RANDOM_OPS if _offered(a, name)]
    names, weights = zip(*ops, strict=True)
    formulas = _formulas(group, True)
    pool = [k for f in group for k in f.pool]
    while True:
        keys = rng.sample(pool, min(6, len(pool)))
        keys += [FORMULAS[f](rng.randrange(300)) for f in rng.sample(formulas, len(formulas))[:2]]
        steps = []
        for i in range(rng.randrange(1, length)):
            op = rng.choices(names, weights)[0]
            key = rng.choice(keys)
            if op in ("fill", "drop", "churn", "rewrite"):
                f = rng.choice(formulas)
                lo = rng.randrange(0, 64)
                hi = lo + rng.randrange(0, 200 if f != "collider" else 40)
                extra = {"churn": (hi - lo,), "rewrite": (i,)}.get(op, ())
                steps.append(Step(op, (f, lo, hi, *extra)))
            elif op in ("set", ".setdefault2", ".get2", ".pop2"):
                steps.append(Step(op, (key, i)))
            elif op in (".update-dict", ".update-pairs"):
                steps.append(Step(op, tuple([tuple((rng.choice(keys), i) for _ in range(3))])))
            elif op in ("iter", "values", ".popitem", ".clear", ".eq", "read-iter"):
                steps.append(Step(op))
            else:
                steps.append(Step(op, (key,)))
        yield Probe((*steps, Step("iter"), Step("values")))


@dataclass(frozen=True)
class Failure:
    """A shrunk failing program, ready to print."""

    spec: str
    clause: str
    shrunk: Shrunk
    unshrunk_steps: int
    assumptions: Assumptions
    seed: int | None

    def message(self) -> str:
        mismatch = self.shrunk.mismatch
        aim = self.clause
        clause = CLAUSES[aim]
        lines = [f"{aim}: {clause.rule}"]
        if aim != mismatch.clause:
            lines.append(f"  (seen as {mismatch.clause}: {CLAUSES[mismatch.clause].rule})")
        steps = len(self.shrunk.program)
        how = (
            f"shrunk from {self.unshrunk_steps} steps in {self.shrunk.seconds:.1f} s"
            if self.shrunk.finished
            else f"NOT minimal: shrinking stopped at its limit after {self.shrunk.seconds:.0f} s"
        )
        lines.append(f"program ({steps} step{'s' * (steps != 1)}, {how}):")
        body = render(self.shrunk.program, self.spec, mismatch.index)
        lines += [f"    {line}" for line in body]
        if mismatch.detail:
            lines.append(f"  at: {mismatch.detail}")
        lines.append(f"  expected: {mismatch.expected}")
        lines.append(f"  got:      {mismatch.got}")
        lines.append(f"assumed: {self.assumptions.describe()}")
        seed = f" --seed {self.seed}" if self.seed is not None else ""
        lines.append(
            f"explain: mapbench conform --explain {aim}{seed and '; reproduce with'}{seed}"
        )
        return "\n".join(lines)


def _clause(run: Runner, aim: str | None, shrunk: Shrunk) -> str:
    """The clause broken: what the program aimed at if it aimed at failed operations or reads
    during iteration; `colliding-hashes` or `equal-keys` if the shortest program fails only
    with its colliding keys, or its keys equal but of different types; else what the failing
    step checks."""
    if aim in _AIMS_THAT_NAME:
        return aim
    if shrunk.finished and needs(run, shrunk, apart):
        return "colliding-hashes"
    if shrunk.finished and needs(run, shrunk, plain_keys):
        return "equal-keys"
    return shrunk.mismatch.clause


_AIMS_THAT_NAME = ("equal-keys", "colliding-hashes", "failed-operation", "read-during-iteration")


def search(
    make: Callable[[], Any],
    spec: str,
    assumptions: Assumptions,
    probes: Iterator[Probe],
    deadline: float | None,
    shrink_seconds: float,
    seed: int | None = None,
) -> Failure | None:
    """Run probes until one fails (shrunk and returned), none is left or `deadline` passes."""
    order = assumptions.order

    def attempt(program: Program) -> Mismatch | None:
        return run(make, program, order)

    for probe in probes:
        found = attempt(probe.program)
        if found is not None:
            limit = time.monotonic() + shrink_seconds
            starts = probe.restarts(found.index)
            shrunk = shrink(attempt, probe.program, found, limit, starts)
            clause = _clause(attempt, probe.aim, shrunk)
            return Failure(spec, clause, shrunk, found.index + 1, assumptions, seed)
        if deadline is not None and time.monotonic() >= deadline:
            return None
    return None


__all__ = [
    "Failure",
    "Probe",
    "boundary_probes",
    "clause_probes",
    "random_probes",
    "search",
    "size_probes",
]
