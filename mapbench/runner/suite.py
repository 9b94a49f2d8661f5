"""Run cases on one or more interpreters, each pass of each case in its own process with a deadline.

Per case and interpreter: a pyperf pass for timing (workers, calibration, warm-ups), then a
separate pass for the collectors (the measuring worker). Interpreters take turns case by case
(A B A B ...), so they see the same noise. A crash, hang or error is recorded as that case's
status; the run goes on and the files are saved after every case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pyperf

from mapbench.errors import MapbenchError
from mapbench.isolate import Outcome, run_isolated
from mapbench.measure.case import CaseId
from mapbench.measure.launch import WorkerLauncher
from mapbench.measure.worker import CaseArgs, WorkerJob
from mapbench.runner._timeworker import case_argv
from mapbench.runner.progress import CaseOutcome, Progress
from mapbench.runner.settings import Settings, Target
from mapbench.runner.store import ResultStore
from mapbench.schema import CaseResult

PROBE_TIMEOUT = 60.0


class RunError(MapbenchError):
    """An interpreter that cannot run mapbench at all (so none of its benchmarks can run)."""


@dataclass
class _Context:
    target: Target
    hash_seed: str
    store: ResultStore
    maps: dict[str, dict[str, Any] | str] = field(default_factory=dict)  # spec -> probe or error


def run_suite(
    cases: Sequence[CaseId],
    targets: Sequence[Target],
    settings: Settings,
    output: Path,
    *,
    commit_dir: str | None = None,
    progress: Progress | None = None,
    run_info: Mapping[str, Any] | None = None,
) -> tuple[list[CaseOutcome], list[str]]:
    """Run every case on every target; return each case's outcome and why others were skipped."""
    output.mkdir(parents=True, exist_ok=True)
    progress = progress or Progress(len(cases) * len(targets))
    outcomes: list[CaseOutcome] = []
    skipped: list[str] = []
    with WorkerLauncher(timeout=settings.timeout) as launcher:
        contexts = [
            _open(t, settings, output, launcher, commit_dir, run_info or {}) for t in targets
        ]
        for case in cases:
            for ctx in contexts:
                why = _unsupported(ctx, case, launcher)
                if why:
                    skipped.append(f"{case} [py{ctx.target.tag}]: {why}")
                    progress.total -= 1
                    continue
                progress.start(f"{case} [py{ctx.target.tag}]")
                outcome = _run_case(ctx, case, settings, launcher)
                outcomes.append(outcome)
                progress.finish(outcome)
        for ctx in contexts:
            ctx.store.finish()
    return outcomes, skipped


def _open(
    target: Target,
    settings: Settings,
    output: Path,
    launcher: WorkerLauncher,
    commit_dir: str | None,
    run_info: Mapping[str, Any],
) -> _Context:
    """Read the target's environment (in the target itself) and start its result files."""
    argv = ["-m", "mapbench.runner._probe"] + ([f"--commit-dir={commit_dir}"] if commit_dir else [])
    data, outcome = _child_json(target, argv, launcher, settings.hash_seed, PROBE_TIMEOUT)
    if data is None:
        raise RunError(
            f"Python {target.tag} ({target.executable}) cannot run mapbench: {outcome.error}"
        )
    environment = {
        **data,
        "run": {**run_info, "python_requested": target.requested, **_settings_info(settings)},
    }
    return _Context(target, settings.hash_seed, ResultStore(output, target.tag, environment))


def _settings_info(settings: Settings) -> dict[str, Any]:
    info = asdict(settings)
    info["collectors"] = "all" if settings.collectors is None else list(settings.collectors)
    return info


def _unsupported(ctx: _Context, case: CaseId, launcher: WorkerLauncher) -> str | None:
    """Why `case` does not apply to its map (a missing capability or key type), else None.

    A map that cannot even be created is not skipped: its cases are recorded as failed.
    """
    spec = case.loadable_spec
    if spec not in ctx.maps:
        argv = ["-m", "mapbench.runner._probe", f"--spec={spec}"]
        data, outcome = _child_json(ctx.target, argv, launcher, ctx.hash_seed, PROBE_TIMEOUT)
        ctx.maps[spec] = data if data is not None else str(outcome.error)
    probe = ctx.maps[spec]
    if isinstance(probe, str):
        return None
    if not probe["workloads"].get(case.workload, False):
        return f"{case.map} lacks a capability {case.workload} needs"
    if not probe["key_kinds"].get(case.key_kind, False):
        return f"{case.map} cannot store {case.key_kind} keys"
    if case.key_kind not in probe["workload_key_kinds"].get(case.workload, ()):
        return f"{case.workload} takes no {case.key_kind} keys"
    return None


def _run_case(
    ctx: _Context, case: CaseId, settings: Settings, launcher: WorkerLauncher
) -> CaseOutcome:
    empty = CaseResult(case.map, case.workload, case.size, case.key_kind, case.seed, case.spec)
    probe = ctx.maps[case.loadable_spec]
    if isinstance(probe, str):  # the map could not be created at all
        failed = msgspec.structs.replace(empty, status="failed", error=f"creating the map: {probe}")
        return _record(ctx, case, failed, (), 0.0)
    timing_file = launcher.directory / "timing.json"
    timing_file.unlink(missing_ok=True)
    argv = [
        "-m",
        "mapbench.runner._timeworker",
        *case_argv(case, settings.hash_seed),
        *settings.pyperf_argv(),
        f"--output={timing_file}",
    ]
    timed = run_isolated(
        [ctx.target.executable, *argv],
        timeout=settings.timeout,
        env=launcher.environ_for(settings.hash_seed),
        cwd=launcher.directory,
    )
    if timed.status != "ok":
        failed = msgspec.structs.replace(
            empty, status=timed.status, error=f"timing: {timed.error}", traceback=timed.stderr_tail
        )
        return _record(ctx, case, failed, (), timed.elapsed)
    benches = pyperf.BenchmarkSuite.load(str(timing_file)).get_benchmarks()
    if settings.collectors == ():
        return _record(ctx, case, empty, benches, timed.elapsed)
    job = WorkerJob((CaseArgs.of(case),), settings.hash_seed, collectors=settings.collectors)
    collected = launcher.run(ctx.target.executable, job, name="collect")
    result = collected.results[0]
    if result.status != "ok":
        result = msgspec.structs.replace(result, error=f"metrics: {result.error}")
    elapsed = timed.elapsed + (collected.outcome.elapsed if collected.outcome else 0.0)
    return _record(ctx, case, result, benches, elapsed)


def _record(
    ctx: _Context,
    case: CaseId,
    result: CaseResult,
    benches: Sequence[pyperf.Benchmark],
    elapsed: float,
) -> CaseOutcome:
    ctx.store.add(result, benches)
    values = tuple(float(v) for b in benches for v in b.get_values())
    return CaseOutcome(
        case, ctx.target.tag, result.status, result.error or None, values, len(result.metrics),
        elapsed,
    )  # fmt: skip


def _child_json(
    target: Target, argv: list[str], launcher: WorkerLauncher, hash_seed: str, timeout: float
) -> tuple[Any, Outcome]:
    """Run `python ARGV --output F` in isolation; the JSON it wrote, or None if it failed."""
    out = launcher.directory / "child.json"
    out.unlink(missing_ok=True)
    outcome = run_isolated(
        [target.executable, *argv, f"--output={out}"],
        timeout=timeout,
        env=launcher.environ_for(hash_seed),
        cwd=launcher.directory,
    )
    if outcome.status != "ok":
        return None, outcome
    try:
        return json.loads(out.read_text(encoding="utf-8")), outcome
    except (OSError, ValueError) as exc:
        return None, Outcome("failed", 0, f"no result written: {exc}", outcome.stderr_tail, 0.0)
