"""Instructions per operation under valgrind's callgrind: repeatable to the instruction.

Two worker processes run the same case `low` and `high` times; the difference of their instruction
totals cancels interpreter start-up, imports and key generation, leaving `high - low` runs (each an
untimed reset plus the workload). With PYTHONHASHSEED pinned the count is the same in every run.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from mapbench.ci.interleave import Runner, Side, worker_env
from mapbench.errors import MapbenchError

_COLLECTED = re.compile(r"==\d+== Collected : (\d+)")
VALGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def available() -> bool:
    """Whether valgrind is on PATH."""
    return shutil.which("valgrind") is not None


def instructions(runner: Runner, side: Side, reps: int) -> int:
    """Instructions executed by one worker process running every case `reps` times.

    A plain run goes first so that every module's bytecode is cached: compiling a module costs
    millions of instructions, and whether it happens would depend on what ran before.
    """
    runner.run(side, "instructions", 1)
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
    return int(found[-1])


def per_operation(runner: Runner, side: Side, ops: int, low: int = 1, high: int = 3) -> float:
    """Instructions per operation of the runner's (single) case: start-up subtracted."""
    if len(runner.cases) != 1:
        raise MapbenchError("instruction counts are per case: give the runner exactly one case")
    difference = instructions(runner, side, high) - instructions(runner, side, low)
    return difference / ((high - low) * ops)
