"""Save one side's interleaved runs as a mapbench metrics file that `mapbench.results` loads."""

from __future__ import annotations

import platform
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mapbench.ci.interleave import CaseSpec, SideRuns
from mapbench.compare import Comparison, Thresholds, compare
from mapbench.measurement import Measurement
from mapbench.results import ResultSet, load
from mapbench.runner.store import ResultStore


def time_measurement(rounds: Sequence[Sequence[float]]) -> Measurement:
    """Seconds per operation; one sample per worker process: the fastest of its runs.

    Runs inside one process share its noise burst, so they are not independent samples; the
    processes are (and were interleaved with the other side's), so a rank test on them is valid.
    """
    samples = tuple(float(np.min(r)) for r in rounds)
    return Measurement(
        "time",
        float(np.min(samples)),
        "s",
        "noisy",
        samples,
        note=f"minimum of {len(rounds[0])} runs in each of {len(rounds)} interleaved processes",
    )


def save_side(
    runs: SideRuns, cases: Sequence[CaseSpec], directory: Path, extra_env: dict[str, Any]
) -> Path:
    """Write `metrics-<python>.json` for one side into `directory`; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {**runs.environment, "commit": runs.side.commit, **extra_env}
    tag = str(env.get("python") or platform.python_version())
    store = ResultStore(directory, tag, env)
    for case in cases:
        rounds = runs.rounds.get(case.label)
        error = runs.errors.get(case.label)
        metrics = [time_measurement(rounds).to_json()] if rounds else []
        metrics += runs.metrics.get(case.label, [])
        store.add(
            {
                "map": case.map,
                "workload": case.workload,
                "size": case.size,
                "key_kind": case.key_kind,
                "params": {},
                "status": "failed" if error or not metrics else "ok",
                "error": error or (None if metrics else "nothing was measured"),
                "metrics": metrics,
            }
        )
    return store.metrics_path


def compare_runs(
    base: SideRuns,
    head: SideRuns,
    cases: Sequence[CaseSpec],
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
