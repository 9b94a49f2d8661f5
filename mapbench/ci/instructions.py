"""Instructions per operation under valgrind's callgrind: repeatable to the instruction.

Two worker processes run the same case `low` and `high` times; the difference of their instruction
totals cancels interpreter start-up, imports and key generation, leaving `high - low` runs (each an
untimed reset plus the workload). With PYTHONHASHSEED pinned the count is the same in every run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence

from mapbench.ci.interleave import CaseSpec, Runner, Side, SideRuns, worker_env
from mapbench.compare import INSTRUCTION_UNIT
from mapbench.errors import MapbenchError
from mapbench.measurement import Measurement

_COLLECTED = re.compile(r"==\d+== Collected : (\d+)")
VALGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def available() -> bool:
    """Whether valgrind is on PATH."""
    return shutil.which("valgrind") is not None


def instructions(runner: Runner, side: Side, reps: int) -> tuple[int, int]:
    """Instructions executed by one worker process running its case `reps` times, and the
    number of operations one run of the case performs.

    A plain run goes first so that every module's bytecode is cached: compiling a module costs
    millions of instructions, and whether it happens would depend on what ran before.
    """
    plain = runner.run(side, "instructions", 1)["results"][0]
    if plain["status"] != "ok":
        raise MapbenchError(f"{side.name}: {plain['error']}")
    cmd, _ = runner.command(side, "instructions", reps)
    done = subprocess.run(
        [*VALGRIND, *cmd],
        capture_output=True,
        text=True,
        env=worker_env(),
        cwd=cmd[1].rsplit("/", 1)[0],
        timeout=runner.timeout,
    )
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise MapbenchError(f"callgrind run of {side.name} failed: {tail}")
    return int(found[-1]), int(plain["ops"])


def per_operation(runner: Runner, side: Side, low: int = 1, high: int = 3) -> float:
    """Instructions per operation of the runner's (single) case: start-up subtracted."""
    if len(runner.cases) != 1:
        raise MapbenchError("instruction counts are per case: give the runner exactly one case")
    many, ops = instructions(runner, side, high)
    few, _ = instructions(runner, side, low)
    return (many - few) / ((high - low) * ops)


def add_to(runs: SideRuns, cases: Sequence[CaseSpec], timeout: float) -> None:
    """Add each case's instructions per operation to `runs.metrics` (deterministic, exact)."""
    note = "callgrind; start-up cancelled by subtracting a run with fewer repetitions"
    for case in cases:
        if case.label in runs.errors:
            continue
        with Runner([case], timeout=timeout) as runner:
            try:
                value = per_operation(runner, runs.side)
            except (MapbenchError, subprocess.SubprocessError) as exc:
                runs.errors[case.label] = f"instruction count: {exc}"
                continue
        m = Measurement("instructions", value, INSTRUCTION_UNIT, "deterministic", note=note)
        runs.metrics.setdefault(case.label, []).append(m.to_json())
