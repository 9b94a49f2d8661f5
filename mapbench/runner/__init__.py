"""The pyperf suite behind `mapbench run`: plan jobs, run each in isolated processes, save results.

Each job (map x workload x key kind x size) gets a pyperf timing pass and a separate collector
pass, each in its own process group with a deadline, on one or more interpreters.
"""

from __future__ import annotations

from mapbench.runner.jobs import Job
from mapbench.runner.plan import DEFAULT_PLAN, QUICK_PLAN, Plan, make_jobs, select_maps
from mapbench.runner.progress import CaseResult, Progress, summary
from mapbench.runner.suite import DEFAULT, QUICK, RunError, Settings, Target, run_suite

__all__ = [
    "DEFAULT",
    "DEFAULT_PLAN",
    "QUICK",
    "QUICK_PLAN",
    "CaseResult",
    "Job",
    "Plan",
    "Progress",
    "RunError",
    "Settings",
    "Target",
    "make_jobs",
    "run_suite",
    "select_maps",
    "summary",
]
