"""Run jobs on one or more interpreters, each pass of each job in its own process with a deadline.

Per job and interpreter: a pyperf pass for timing (workers, calibration, warm-ups), then a
separate pass for the collectors. Interpreters take turns job by job (A B A B ...), so they see the
same noise. A crash, hang or error is recorded as that case's status; the run goes on and the
files are saved after every case.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyperf

from mapbench.errors import MapbenchError
from mapbench.runner.isolate import Outcome, Status, run_isolated
from mapbench.runner.jobs import Job, hash_seed_argv
from mapbench.runner.progress import CaseResult, Progress
from mapbench.runner.store import ResultStore

PROBE_TIMEOUT = 60.0


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
            "--inherit-environ=PYTHONHASHSEED,PYTHONFAULTHANDLER",
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


class RunError(MapbenchError):
    """An interpreter that cannot run mapbench at all (so none of its benchmarks can run)."""


@dataclass
class _Context:
    target: Target
    store: ResultStore
    maps: dict[str, dict[str, Any] | str] = field(default_factory=dict)  # spec -> probe or error


def run_suite(
    jobs: Sequence[Job],
    targets: Sequence[Target],
    settings: Settings,
    output: Path,
    *,
    commit_dir: str | None = None,
    progress: Progress | None = None,
    run_info: Mapping[str, Any] | None = None,
) -> tuple[list[CaseResult], list[str]]:
    """Run every job on every target; return each case's result and why others were skipped."""
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mapbench-run-"))  # neutral cwd: no checkout shadowing
    env = _child_environ(settings.hash_seed)
    progress = progress or Progress(len(jobs) * len(targets))
    results: list[CaseResult] = []
    skipped: list[str] = []
    try:
        contexts = [
            _open(t, settings, output, work, env, commit_dir, run_info or {}) for t in targets
        ]
        for job in jobs:
            for ctx in contexts:
                why = _unsupported(ctx, job, work, env)
                if why:
                    skipped.append(f"{job.name} [py{ctx.target.tag}]: {why}")
                    progress.total -= 1
                    continue
                progress.start(f"{job.name} [py{ctx.target.tag}]")
                result = _run_case(ctx, job, settings, work, env)
                results.append(result)
                progress.finish(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results, skipped


def _open(
    target: Target,
    settings: Settings,
    output: Path,
    work: Path,
    env: Mapping[str, str],
    commit_dir: str | None,
    run_info: Mapping[str, Any],
) -> _Context:
    """Read the target's environment (in the target itself) and start its result files."""
    argv = ["-m", "mapbench.runner._probe"] + ([f"--commit-dir={commit_dir}"] if commit_dir else [])
    data, outcome = _child_json(target, argv, work, env, PROBE_TIMEOUT)
    if data is None:
        raise RunError(
            f"Python {target.tag} ({target.executable}) cannot run mapbench: {outcome.error}"
        )
    environment = {
        **data,
        "run": {**run_info, "python_requested": target.requested, **_settings_info(settings)},
    }
    return _Context(target, ResultStore(output, target.tag, environment))


def _settings_info(settings: Settings) -> dict[str, Any]:
    info = asdict(settings)
    info["collectors"] = "all" if settings.collectors is None else list(settings.collectors)
    return info


def _unsupported(ctx: _Context, job: Job, work: Path, env: Mapping[str, str]) -> str | None:
    """Why `job` does not apply to its map (a missing capability or key type), else None.

    A map that cannot even be created is not skipped: its cases are recorded as failed.
    """
    if job.spec not in ctx.maps:
        argv = ["-m", "mapbench.runner._probe", f"--spec={job.spec}"]
        data, outcome = _child_json(ctx.target, argv, work, env, PROBE_TIMEOUT)
        ctx.maps[job.spec] = data if data is not None else str(outcome.error)
    probe = ctx.maps[job.spec]
    if isinstance(probe, str):
        return None
    if not probe["workloads"].get(job.workload, False):
        return f"{job.label} lacks a capability {job.workload} needs"
    if not probe["key_kinds"].get(job.key_kind, False):
        return f"{job.label} cannot store {job.key_kind} keys"
    return None


def _run_case(
    ctx: _Context, job: Job, settings: Settings, work: Path, env: Mapping[str, str]
) -> CaseResult:
    probe = ctx.maps[job.spec]
    if isinstance(probe, str):  # the map could not be created at all
        return _record(ctx, job, "failed", f"creating the map: {probe}", (), [], 0.0)
    timing_file = work / "timing.json"
    timing_file.unlink(missing_ok=True)
    argv = [
        "-m",
        "mapbench.runner._timeworker",
        *job.argv(),
        *hash_seed_argv(settings.hash_seed),
        *settings.pyperf_argv(),
        f"--output={timing_file}",
    ]
    timed = run_isolated(
        [ctx.target.executable, *argv], timeout=settings.timeout, env=env, cwd=work
    )
    if timed.status != "ok":
        return _record(ctx, job, timed.status, f"timing: {timed.error}", (), [], timed.elapsed)
    benches = pyperf.BenchmarkSuite.load(str(timing_file)).get_benchmarks()
    if settings.collectors == ():
        return _record(ctx, job, "ok", None, benches, [], timed.elapsed)
    argv = ["-m", "mapbench.runner._collect", *job.argv(), *hash_seed_argv(settings.hash_seed)]
    argv += [f"--collector={name}" for name in settings.collectors or ()]
    metrics, collected = _child_json(ctx.target, argv, work, env, settings.timeout)
    elapsed = timed.elapsed + collected.elapsed
    if metrics is None:
        error = f"metrics: {collected.error}"
        return _record(ctx, job, collected.status, error, benches, [], elapsed)
    return _record(ctx, job, "ok", None, benches, metrics["metrics"], elapsed)


def _record(
    ctx: _Context,
    job: Job,
    status: Status,
    error: str | None,
    benches: Sequence[pyperf.Benchmark],
    metrics: list[dict[str, Any]],
    elapsed: float,
) -> CaseResult:
    ctx.store.add(
        {
            "map": job.label,
            "workload": job.workload,
            "size": job.size,
            "key_kind": job.key_kind,
            "params": {"seed": job.seed, "spec": job.spec},
            "status": status,
            "error": error,
            "metrics": metrics,
        },
        benches,
    )
    values = tuple(float(v) for b in benches for v in b.get_values())
    return CaseResult(job, ctx.target.tag, status, error, values, len(metrics), elapsed)


def _child_json(
    target: Target, argv: list[str], work: Path, env: Mapping[str, str], timeout: float
) -> tuple[Any, Outcome]:
    """Run `python ARGV --output F` in isolation; the JSON it wrote, or None if it failed."""
    out = work / "child.json"
    out.unlink(missing_ok=True)
    outcome = run_isolated(
        [target.executable, *argv, f"--output={out}"], timeout=timeout, env=env, cwd=work
    )
    if outcome.status != "ok":
        return None, outcome
    try:
        return json.loads(out.read_text(encoding="utf-8")), outcome
    except (OSError, ValueError) as exc:
        return None, Outcome("failed", 0, f"no result written: {exc}", outcome.stderr_tail, 0.0)


def _child_environ(hash_seed: str) -> dict[str, str]:
    """This environment with the hash seed pinned and faulthandler on (crash tracebacks)."""
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hash_seed
    env["PYTHONFAULTHANDLER"] = "1"
    # The children run in a neutral directory: relative PYTHONPATH entries must not change meaning.
    if env.get("PYTHONPATH"):
        parts = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in parts if p)
    return env


def current_target() -> Target:
    """The running interpreter, tagged "X.Y"."""
    return Target(f"{sys.version_info[0]}.{sys.version_info[1]}", sys.executable, "")
