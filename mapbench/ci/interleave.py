"""Run two sides (base and head) in alternating worker processes: A B, B A, A B, ...

Noise on a shared machine comes in bursts lasting seconds (docs/ci.md); a round measures both
sides within the same second or so, and the order flips every round so that neither side always
runs first. The deterministic pass runs once per side: its numbers do not depend on timing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapbench.runner.isolate import run_isolated

WORKER = Path(__file__).with_name("_worker.py")
# Pinned for every worker: str hashes, and so str-key probe lengths, depend on it.
HASH_SEED = "0"


@dataclass(frozen=True)
class CaseSpec:
    """One benchmark case: a map (by label) through one workload at one size and key kind."""

    map: str
    workload: str
    size: int
    key_kind: str

    @property
    def label(self) -> str:
        """The pyperf-style name: `map/workload/key_kind/size`."""
        return f"{self.map}/{self.workload}/{self.key_kind}/{self.size}"


@dataclass(frozen=True)
class Side:
    """What one side runs: an interpreter, and the spec each map label is created from there."""

    name: str
    python: str
    commit: str | None = None
    specs: Mapping[str, str] = field(default_factory=dict)  # label -> spec; default: the label

    def spec(self, map_label: str) -> str:
        return self.specs.get(map_label, map_label)


@dataclass
class SideRuns:
    """Everything measured for one side, by case label."""

    side: Side
    rounds: dict[str, list[list[float]]] = field(default_factory=dict)  # seconds/op per round
    metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class Runner:
    """Runs worker processes for cases; owns a private directory holding only the worker script."""

    def __init__(self, cases: Sequence[CaseSpec], *, timeout: float = 600.0, seed: int = 0) -> None:
        self.cases = list(cases)
        self.timeout = timeout
        self.seed = seed
        self._dir = Path(tempfile.mkdtemp(prefix="mapbench-ci-run-"))
        # The script's folder is sys.path[0] of the worker: keep it free of anything importable.
        shutil.copy2(WORKER, self._dir / WORKER.name)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def command(self, side: Side, mode: str, reps: int) -> tuple[list[str], Path]:
        """The worker command line for one pass of every case, and where it writes its output."""
        job = {
            "mode": mode,
            "reps": reps,
            "seed": self.seed,
            "cases": [
                {
                    "label": c.label,
                    "spec": side.spec(c.map),
                    "workload": c.workload,
                    "size": c.size,
                    "key_kind": c.key_kind,
                }
                for c in self.cases
            ],
        }
        # Fixed names (runs are sequential): a name that varied would vary what the worker
        # hashes, and so its instruction count.
        job_path = self._dir / f"job-{side.name}-{mode}-{reps}.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        out = job_path.with_suffix(".out.json")
        out.unlink(missing_ok=True)
        return [side.python, str(self._dir / WORKER.name), str(job_path), str(out)], out

    def run(self, side: Side, mode: str, reps: int, prefix: Sequence[str] = ()) -> dict[str, Any]:
        """One worker process (optionally under a `prefix` such as valgrind); its parsed output."""
        cmd, out = self.command(side, mode, reps)
        outcome = run_isolated(
            [*prefix, *cmd], timeout=self.timeout, env=worker_env(), cwd=self._dir
        )
        if outcome.status != "ok" or not out.is_file():
            # The worker died: every case it was running is charged with why.
            error = f"worker process: {outcome.error or 'wrote no results'}"
            failed = {"status": outcome.status, "error": error, "times": [], "metrics": []}
            return {
                "environment": {},
                "results": [{"label": c.label, **failed} for c in self.cases],
            }
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return data


def worker_env() -> dict[str, str]:
    """This environment minus anything that could import the checkout, with the hash seed pinned."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONHASHSEED"] = HASH_SEED
    return env


def schedule(sides: tuple[Side, Side], rounds: int, interleave: bool) -> list[Side]:
    """The order of worker processes: A B, B A, A B, ... or, back to back, A A ... B B ..."""
    if not interleave:
        return [sides[0]] * rounds + [sides[1]] * rounds
    return [side for r in range(rounds) for side in (sides if r % 2 == 0 else sides[::-1])]


def run_interleaved(
    runner: Runner,
    sides: tuple[Side, Side],
    *,
    rounds: int,
    reps: int,
    interleave: bool = True,
    deterministic: bool = True,
    progress: Progress = _quiet,
) -> tuple[SideRuns, SideRuns]:
    """`rounds` worker processes per side in `schedule()` order, then the exact-metrics pass."""
    runs = {s.name: SideRuns(s) for s in sides}
    for i, side in enumerate(schedule(sides, rounds, interleave)):
        progress(f"process {i + 1}/{2 * rounds}: {side.name}")
        _take_times(runs[side.name], runner.run(side, "time", reps))
    if deterministic:
        for side in sides:
            progress(f"exact metrics: {side.name}")
            _take_metrics(runs[side.name], runner.run(side, "deterministic", 1))
    return runs[sides[0].name], runs[sides[1].name]


def _take_times(runs: SideRuns, data: Mapping[str, Any]) -> None:
    runs.environment = runs.environment or dict(data.get("environment") or {})
    for result in data.get("results", ()):
        if result["status"] != "ok":
            runs.errors.setdefault(result["label"], str(result["error"]))
        elif result["times"]:
            runs.rounds.setdefault(result["label"], []).append(list(result["times"]))


def _take_metrics(runs: SideRuns, data: Mapping[str, Any]) -> None:
    for result in data.get("results", ()):
        if result["status"] == "ok":
            runs.metrics.setdefault(result["label"], []).extend(result["metrics"])
        else:
            runs.errors.setdefault(result["label"], str(result["error"]))


def progress_to_stderr(message: str) -> None:
    """One progress line on stderr (the report goes to files, stdout gets the summary)."""
    print(f"mapbench ci: {message}", file=sys.stderr, flush=True)
