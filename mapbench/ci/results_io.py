"""Save one side's interleaved runs as a mapbench results file that `mapbench.results` loads."""

from __future__ import annotations

import platform
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mapbench.case import CaseId
from mapbench.ci.interleave import SideRuns
from mapbench.compare import Comparison, compare
from mapbench.measure.timing import TIMING_METRICS, across_processes
from mapbench.results import ResultSet, load
from mapbench.runner.store import ResultStore
from mapbench.schema import CaseResult
from mapbench.thresholds import Thresholds


def save_side(
    runs: SideRuns, cases: Sequence[CaseId], directory: Path, extra_env: dict[str, Any]
) -> Path:
    """Write `metrics-<python>.json` for one side into `directory`; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {**runs.environment, "commit": runs.side.commit, "source": runs.side.label, **extra_env}
    tag = str(env.get("python") or platform.python_version())
    store = ResultStore(directory, tag, env)
    for case in runs.side.cases(cases):
        rounds = runs.rounds.get(case, [])
        error = runs.errors.get(case, "")
        found = (across_processes(rounds, n, "interleaved processes") for n in TIMING_METRICS)
        times = [m for m in found if m]
        metrics = (*times, *runs.metrics.get(case, []))
        store.add(
            CaseResult.of(
                runs.side.loadable(case),
                params=runs.params.get(case),
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
    """Save both sides under `directory`/base and /head, load them back and compare them; the
    comparison and both sides' results (its `environments` are keyed by the two files).

    Going through the files means `mapbench ci` judges exactly what `mapbench compare` would.
    Only the files written here are read back: anything else in `directory` is not ours.
    """
    files = []
    for runs in (base, head):
        side_dir = directory / runs.side.name
        shutil.rmtree(side_dir, ignore_errors=True)
        files.append(save_side(runs, cases, side_dir, extra_env))
    loaded = [load([f]) for f in files]
    comparison = compare(loaded[0], loaded[1], thresholds, base.side.title, head.side.title)
    return comparison, load(files)


def look(
    base: SideRuns, head: SideRuns, cases: Sequence[CaseId], thresholds: Thresholds
) -> Comparison:
    """The comparison of what was measured so far, its files thrown away (a look, not a
    verdict: adaptive and extra rounds, confirmation)."""
    with tempfile.TemporaryDirectory(prefix="mapbench-ci-look-") as tmp:
        comparison, _ = compare_runs(base, head, cases, thresholds, Path(tmp), {})
    return comparison
