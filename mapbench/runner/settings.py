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
# Two worker processes of three values each: enough to see a 2x difference, not 5%.
QUICK = Settings(processes=2, values=3, warmups=1, min_time=0.01, timeout=60.0)


@dataclass(frozen=True)
class Target:
    """An interpreter to run on: `tag` names its files, `executable` has mapbench importable."""

    tag: str
    executable: str
    requested: str = ""


def current_target() -> Target:
    """The running interpreter, tagged "X.Y"."""
    return Target(f"{sys.version_info[0]}.{sys.version_info[1]}", sys.executable, "")
