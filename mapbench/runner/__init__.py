"""The pyperf suite behind `mapbench run`: plan cases, run each in isolated processes, save results.

Each case (map x workload x key kind x size) gets a pyperf timing pass and a separate collector
pass, each in its own process group with a deadline, on one or more interpreters.

The names below load with the module that defines them, on first use: importing a submodule
(`mapbench list` needs `mapbench.runner._probe`) never loads pyperf or the measuring code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mapbench.runner.plan import DEFAULT_PLAN, QUICK_PLAN, Plan, make_cases, select_maps
    from mapbench.runner.progress import CaseOutcome, Progress, summary
    from mapbench.runner.settings import DEFAULT, QUICK, Settings, Target
    from mapbench.runner.suite import RunError, run_suite

_DEFINED_IN = {
    **dict.fromkeys(("DEFAULT_PLAN", "QUICK_PLAN", "Plan", "make_cases", "select_maps"), "plan"),
    **dict.fromkeys(("CaseOutcome", "Progress", "summary"), "progress"),
    **dict.fromkeys(("DEFAULT", "QUICK", "Settings", "Target"), "settings"),
    **dict.fromkeys(("RunError", "run_suite"), "suite"),
}

__all__ = [
    "DEFAULT",
    "DEFAULT_PLAN",
    "QUICK",
    "QUICK_PLAN",
    "CaseOutcome",
    "Plan",
    "Progress",
    "RunError",
    "Settings",
    "Target",
    "make_cases",
    "run_suite",
    "select_maps",
    "summary",
]


def __getattr__(name: str) -> Any:
    if name not in _DEFINED_IN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_DEFINED_IN[name]}"), name)
