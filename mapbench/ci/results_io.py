"""Save one side's interleaved runs as a mapbench metrics file that `mapbench.results` loads."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mapbench.ci.interleave import CaseSpec, SideRuns
from mapbench.measurement import Measurement
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
