"""How `mapbench run` measures: pyperf's process and value counts, deadlines, the hash seed."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from mapbench._child import FAILURE_ENV, PARENT_ENV

# The pyperf hook that keeps each value's CPU time (`mapbench.measure.timing.PyperfClocksHook`).
CLOCKS_HOOK = "mapbench_clocks"


@dataclass(frozen=True)
class Settings:
    """How each benchmark is measured: pyperf's process and value counts, deadlines, hash seed."""

    processes: int = 6
    values: int = 3
    warmups: int = 1
    min_time: float = 0.05
    timeout: float = 300.0
    hash_seed: str = "0"
    collectors: tuple[str, ...] | None = None  # None: every collector; (): timing only

    def pyperf_argv(self) -> list[str]:
        return [
            f"--processes={self.processes}",
            f"--values={self.values}",
            f"--warmups={self.warmups}",
            f"--min-time={self.min_time}",
            f"--inherit-environ=PYTHONHASHSEED,PYTHONFAULTHANDLER,{PARENT_ENV},{FAILURE_ENV}",
            f"--hook={CLOCKS_HOOK}",
            "--quiet",
        ]


DEFAULT = Settings()
# Eight worker processes of three values each. The process is the unit of every verdict
# (`mapbench.stats`): with 8 against 8, a clean 2x difference has p = 2/C(16, 8) = 0.00016, so
# it stays significant under false-discovery control over hundreds of rows (6 would give
# 0.0022, lost among ~25 rows with one change); 20% is usually significant too. Two processes
# (the old quick setting) can never be.
QUICK = Settings(processes=8, values=3, warmups=1, min_time=0.01, timeout=60.0)


@dataclass(frozen=True)
class Target:
    """An interpreter to run on: `tag` names its files, `executable` has mapbench importable."""

    tag: str
    executable: str
    requested: str = ""


def current_target() -> Target:
    """The running interpreter, tagged "X.Y"."""
    return Target(f"{sys.version_info[0]}.{sys.version_info[1]}", sys.executable, "")
