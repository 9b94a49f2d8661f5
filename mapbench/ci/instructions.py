"""Instructions per operation under valgrind's callgrind: repeatable to the instruction.

Callgrind counts only inside the runs of the case (`--toggle-collect` on the one C function the
worker calls each run through, `mapbench.measure._counted`): not the interpreter's start-up,
imports, key building or result writing, which vary with what lies on the interpreter's path
and in its directory. What start-up leaves behind can still move a process's first run by a
few hundred instructions (the allocator's free pools, sized by the environment it copied), and a
map may import a module lazily in its first run. So two worker processes run the case `low` and
`high` times, and the difference of their counts, `high - low` runs, cancels both. With
PYTHONHASHSEED pinned and the collector paused, that difference is the same in every process.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence

from mapbench.case import CaseId
from mapbench.catalog import measurement
from mapbench.ci.interleave import Runner, Side, SideRuns
from mapbench.errors import MapbenchError
from mapbench.workloads import get_workload

_COLLECTED = re.compile(r"==\d+== Collected : (\d+)")
# The function in mapbench/measure/_counted.c that each counted run is called through.
COUNTED_FUNCTION = "mapbench_counted_call"
VALGRIND = (
    "valgrind",
    "--tool=callgrind",
    "--collect-atstart=no",
    f"--toggle-collect={COUNTED_FUNCTION}",
    "--callgrind-out-file=/dev/null",
)


def available() -> bool:
    """Whether valgrind is on PATH."""
    return shutil.which("valgrind") is not None


def instructions(runner: Runner, side: Side, reps: int) -> int:
    """Instructions executed by the runs of one worker process running its case `reps` times.

    A plain run goes first so that the bytecode of any module the map imports in its first run
    is cached: compiling one costs millions of instructions, and whether it happens would
    depend on what ran before.
    """
    [plain] = runner.run(side, runner.job(side, plain_runs=1)).results
    if plain.status != "ok":
        raise MapbenchError(f"{side.name}: {plain.error}")
    counted = runner.run(side, runner.job(side, plain_runs=reps), prefix=VALGRIND)
    outcome = counted.outcome
    output = outcome.traceback if outcome else ""  # a child's output tail, valgrind's with it
    found = _COLLECTED.findall(output)
    if outcome is None or outcome.status != "ok" or not found:
        tail = " | ".join(output.strip().splitlines()[-3:])
        raise MapbenchError(f"callgrind run of {side.name} failed: {tail}")
    count = int(found[-1])
    if count == 0:  # every run executes something: the worker never called the function
        raise MapbenchError(
            f"callgrind counted nothing at {side.name}: its worker never runs the case through "
            f"{COUNTED_FUNCTION} (a mapbench older than mapbench.measure._counted measures there)"
        )
    return count


def per_operation(runner: Runner, side: Side, low: int = 1, high: int = 3) -> float:
    """Instructions per operation of the runner's (single) case: start-up subtracted."""
    if len(runner.cases) != 1:
        raise MapbenchError("instruction counts are per case: give the runner exactly one case")
    case = runner.cases[0]
    ops = get_workload(case.workload).ops(case.size)
    many = instructions(runner, side, high)
    few = instructions(runner, side, low)
    return (many - few) / ((high - low) * ops)


def add_to(runs: SideRuns, cases: Sequence[CaseId], timeout: float) -> None:
    """Add each case's instructions per operation to `runs.metrics` (deterministic, exact)."""
    note = "callgrind, inside the runs only; a first run's one-off work cancelled by subtraction"
    for case in runs.side.cases(cases):
        if case in runs.errors:
            continue
        with Runner([case], timeout=timeout) as runner:
            try:
                value = per_operation(runner, runs.side)
            except MapbenchError as exc:
                runs.errors[case] = f"instruction count: {exc}"
                continue
        runs.metrics.setdefault(case, []).append(measurement("instructions", value, note=note))
