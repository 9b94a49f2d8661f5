"""Save one side's interleaved runs as a mapbench results file that `mapbench.results` loads."""

from __future__ import annotations

import platform
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mapbench.ci.interleave import SideRuns
from mapbench.compare import Comparison, compare
from mapbench.measure.case import CaseId
from mapbench.measure.catalog import measurement
from mapbench.results import ResultSet, load
from mapbench.runner.store import ResultStore
from mapbench.schema import CaseResult, Measurement
from mapbench.thresholds import Thresholds

# What each worker process's timing pass records for a case, kept for every process.
TIMING_METRICS = (
    "time", "cpu_time", "run_queue", "context_switches", "voluntary_switches", "load_average",
)  # fmt: skip


def per_process(rounds: Sequence[Sequence[Measurement]], name: str) -> Measurement | None:
    """Metric `name` of every worker process, its samples concatenated in the order the
    processes ran, with `groups` saying how many each took.

    Runs inside one process share its noise burst, so they are not independent samples; the
    processes are (and were interleaved with the other side's), so the comparison reduces each
    process to one number and tests those. The value is the median of the processes' own values
    (for times, their fastest runs).
    """
    found = [m for process in rounds for m in process if m.name == name]
    if not found:
        return None
    samples = tuple(x for m in found for x in m.samples)
    runs = len(found[0].samples)
    return measurement(
        name,
        float(np.median([m.value for m in found])),
        samples=samples,
        note=f"{runs} runs in each of {len(found)} interleaved processes",
        groups=tuple(len(m.samples) for m in found),
    )


def save_side(
    runs: SideRuns, cases: Sequence[CaseId], directory: Path, extra_env: dict[str, Any]
) -> Path:
    """Write `metrics-<python>.json` for one side into `directory`; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {**runs.environment, "commit": runs.side.commit, **extra_env}
    tag = str(env.get("python") or platform.python_version())
    store = ResultStore(directory, tag, env)
    for case in cases:
        rounds = runs.rounds.get(case, [])
        error = runs.errors.get(case, "")
        times = [m for m in (per_process(rounds, n) for n in TIMING_METRICS) if m]
        metrics = (*times, *runs.metrics.get(case, []))
        store.add(
            CaseResult(
                case.map,
                case.workload,
                case.size,
                case.key_kind,
                case.seed,
                runs.side.specs.get(case.map, case.map),
                status="failed" if error or not metrics else "ok",
                error=error or ("" if metrics else "nothing was measured"),
                metrics=metrics,
            )
        )
    store.finish()
    return store.metrics_path


def compare_runs(
    base: SideRuns,
    head: SideRuns,
    cases: Sequence[CaseId],
    thresholds: Thresholds,
    directory: Path,
    extra_env: dict[str, Any],
) -> tuple[Comparison, ResultSet]:
    """Save both sides under `directory`/base and /head, load them back and compare them.

    Going through the files means `mapbench ci` judges exactly what `mapbench compare` would.
    """
    loaded = []
    for runs in (base, head):
        side_dir = directory / runs.side.name
        shutil.rmtree(side_dir, ignore_errors=True)
        save_side(runs, cases, side_dir, extra_env)
        loaded.append(load([side_dir]))
    labels = [f"{r.side.name} {(r.side.commit or '')[:12]}".strip() for r in (base, head)]
    comparison = compare(loaded[0], loaded[1], thresholds, *labels)
    return comparison, load([directory])
