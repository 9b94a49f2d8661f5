"""Instructions per operation under valgrind's callgrind: repeatable to the instruction.

Two worker processes run the same case `low` and `high` times; the difference of their instruction
totals cancels interpreter start-up, imports and key generation, leaving `high - low` runs (each an
untimed reset plus the workload). With PYTHONHASHSEED pinned the count is the same in every run.
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
VALGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def available() -> bool:
    """Whether valgrind is on PATH."""
    return shutil.which("valgrind") is not None


def instructions(runner: Runner, side: Side, reps: int) -> int:
    """Instructions executed by one worker process running its case `reps` times.

    A plain run goes first so that every module's bytecode is cached: compiling a module costs
    millions of instructions, and whether it happens would depend on what ran before.
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
    return int(found[-1])


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
    note = "callgrind; start-up cancelled by subtracting a run with fewer repetitions"
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
