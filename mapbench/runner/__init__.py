"""The pyperf suite behind `mapbench run`: plan cases, run each in isolated processes, save results.

Each case (map x workload x key kind x size) gets a pyperf timing pass and a separate collector
pass, each in its own process group with a deadline, on one or more interpreters.
"""

from __future__ import annotations

from mapbench.runner.plan import DEFAULT_PLAN, QUICK_PLAN, Plan, make_cases, select_maps
from mapbench.runner.progress import CaseOutcome, Progress, summary
from mapbench.runner.settings import DEFAULT, QUICK, Settings, Target
from mapbench.runner.suite import RunError, run_suite

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
