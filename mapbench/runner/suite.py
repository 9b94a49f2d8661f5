"""Run cases on one or more interpreters, each pass of each case in its own process with a deadline.

First, on each interpreter, every map is loaded and created once in a child process (a probe):
a spec that cannot be loaded stops the run before any case ran (bad input); a map that fails,
crashes or hangs there fails (or times out) each of its cases. Then per case and interpreter:
a pyperf pass for timing (workers, calibration, warm-ups), then a separate pass for the
collectors (the measuring worker). Interpreters take turns case by case (A B A B ...), so they
see the same noise. A crash, hang or error is recorded as that case's status, with the map's
exception and traceback; the run goes on and the files are saved after every case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from mapbench.case import CaseId
from mapbench.describe import described
from mapbench.errors import MapbenchError, UsageError
from mapbench.isolate import Outcome
from mapbench.measure.launch import WorkerLauncher
from mapbench.measure.worker import WorkerJob
from mapbench.runner._timeworker import TIMING_MODULE, case_argv, timing_measurements
from mapbench.runner.progress import CaseOutcome, Progress
from mapbench.runner.settings import Settings, Target
from mapbench.runner.store import ResultStore
from mapbench.schema import CaseResult

# Deadline of reading an interpreter's environment (no map code runs in it).
ENVIRONMENT_TIMEOUT = 60.0


class RunError(MapbenchError):
    """An interpreter that cannot run mapbench at all (so none of its benchmarks can run)."""


@dataclass
class _Context:
    target: Target
    hash_seed: str
    environment: dict[str, Any]
    maps: dict[str, dict[str, Any] | Outcome] = field(default_factory=dict)  # spec -> probe
    store: ResultStore | None = None


def run_suite(
    cases: Sequence[CaseId],
    targets: Sequence[Target],
    settings: Settings,
    output: Path,
    *,
    commit_dir: str | None = None,
    progress: Progress | None = None,
    run_info: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> tuple[list[CaseOutcome], list[str]]:
    """Run every case on every target; return each case's outcome and why others were skipped.

    Raises `MapbenchError` (and writes nothing) if an interpreter cannot run mapbench or a map
    spec cannot be loaded. Earlier results in `output` are kept (see `ResultStore`).
    """
    progress = progress or Progress(len(cases) * len(targets))
    outcomes: list[CaseOutcome] = []
    skipped: list[str] = []
    specs = list(dict.fromkeys(case.loadable_spec for case in cases))
    with WorkerLauncher(timeout=settings.timeout) as launcher:
        contexts = [_open(t, settings, launcher, commit_dir, run_info or {}) for t in targets]
        for ctx in contexts:
            progress.note(f"loading each map once on Python {ctx.target.tag} ({len(specs)})")
            for spec in specs:
                ctx.maps[spec] = _probe_map(ctx, spec, settings, launcher)
        output.mkdir(parents=True, exist_ok=True)
        for ctx in contexts:
            ctx.store = _store(ctx, output, overwrite, progress)
        for case in cases:
            for ctx in contexts:
                why = _unsupported(ctx, case)
                if why:
                    skipped.append(f"{case} [py{ctx.target.tag}]: {why}")
                    progress.total -= 1
                    continue
                progress.start(f"{case} [py{ctx.target.tag}]")
                outcome = _run_case(ctx, case, settings, launcher)
                outcomes.append(outcome)
                progress.finish(outcome)
        for ctx in contexts:
            assert ctx.store is not None
            ctx.store.finish()
    return outcomes, skipped


def _open(
    target: Target,
    settings: Settings,
    launcher: WorkerLauncher,
    commit_dir: str | None,
    run_info: Mapping[str, Any],
) -> _Context:
    """Read the target's environment (in the target itself)."""
    args = [f"--commit-dir={commit_dir}"] if commit_dir else []
    data, outcome = described(
        launcher, target.executable, args, ENVIRONMENT_TIMEOUT, settings.hash_seed
    )
    if data is None:
        raise RunError(
            f"Python {target.tag} ({target.executable}) cannot run mapbench: {outcome.error}"
        )
    environment = {
        **data,
        "run": {**run_info, "python_requested": target.requested, **_settings_info(settings)},
    }
    return _Context(target, settings.hash_seed, environment)


def _store(ctx: _Context, output: Path, overwrite: bool, progress: Progress) -> ResultStore:
    store = ResultStore(output, ctx.target.tag, ctx.environment, overwrite=overwrite)
    if store.metrics_path != store.final_path:
        then = "replace them once it completes" if overwrite else "keep them"
        progress.note(
            f"{output} holds results of Python {ctx.target.tag} already: this run writes "
            f"{store.metrics_path.name}, and will {then}"
        )
    return store


def _probe_map(
    ctx: _Context, spec: str, settings: Settings, launcher: WorkerLauncher
) -> dict[str, Any] | Outcome:
    """What the map supports on this target, or how creating it failed (`Outcome`).

    A spec the child cannot load (import error, unknown option) is bad input: `UsageError`.
    """
    data, outcome = described(
        launcher, ctx.target.executable, [f"--spec={spec}"], settings.timeout, ctx.hash_seed
    )
    if outcome.input_error:
        raise UsageError(outcome.error or f"cannot load map spec {spec!r}")
    return outcome if data is None else dict(data)


def _settings_info(settings: Settings) -> dict[str, Any]:
    info = asdict(settings)
    info["collectors"] = "all" if settings.collectors is None else list(settings.collectors)
    return info


def _unsupported(ctx: _Context, case: CaseId) -> str | None:
    """Why `case` does not apply to its map (unavailable here, or a missing capability or key
    type), else None. A map that could not be created is not skipped: its cases fail."""
    found = ctx.maps[case.loadable_spec]
    if isinstance(found, Outcome):
        return None
    if not found["available"]:
        return f"{case.map} is unavailable: {found['reason']}"
    if not found["workloads"].get(case.workload, False):
        return f"{case.map} lacks a capability {case.workload} needs"
    if not found["key_kinds"].get(case.key_kind, False):
        return f"{case.map} cannot store {case.key_kind} keys"
    if case.key_kind not in found["workload_key_kinds"].get(case.workload, ()):
        return f"{case.workload} takes no {case.key_kind} keys"
    if not found["value_kinds"].get(case.value_kind, False):
        return f"{case.map} can store neither {case.value_kind} values nor bytes"
    if case.value_kind not in found["workload_value_kinds"].get(case.workload, ()):
        return f"{case.workload} takes no {case.value_kind} values"
    return None


def _run_case(
    ctx: _Context, case: CaseId, settings: Settings, launcher: WorkerLauncher
) -> CaseOutcome:
    empty = CaseResult.of(case)
    found = ctx.maps[case.loadable_spec]
    if isinstance(found, Outcome):  # the map could not be created at all
        return _record(ctx, case, _failed(empty, "creating the map", found), 0.0)
    timing_file = launcher.answer_file("timing")
    argv = [
        *case_argv(case, settings.hash_seed),
        *settings.pyperf_argv(),
        f"--output={timing_file}",
    ]
    timed = launcher.run_module(ctx.target.executable, TIMING_MODULE, argv, settings.hash_seed)
    if timed.status == "ok":
        try:
            timing = timing_measurements(timing_file)
        except Exception as exc:  # pyperf raises bare KeyError/ValueError on a bad file
            timed = Outcome("failed", 0, f"pyperf wrote no readable timings: {exc}", "", 0.0)
    if timed.status != "ok":
        return _record(ctx, case, _failed(empty, "timing", timed), timed.elapsed)
    if settings.collectors == ():
        return _record(ctx, case, CaseResult.of(case, metrics=timing), timed.elapsed)
    job = WorkerJob((case,), settings.hash_seed, collectors=settings.collectors)
    collected = launcher.run(ctx.target.executable, job, name="collect")
    result = collected.results[0]
    if result.status != "ok":
        result = msgspec.structs.replace(result, error=f"metrics: {result.error}")
    result = msgspec.structs.replace(result, metrics=(*timing, *result.metrics))
    elapsed = timed.elapsed + (collected.outcome.elapsed if collected.outcome else 0.0)
    return _record(ctx, case, result, elapsed)


def _failed(empty: CaseResult, stage: str, outcome: Outcome) -> CaseResult:
    """The case's result when a child process of `stage` failed or timed out."""
    return msgspec.structs.replace(
        empty,
        status="timeout" if outcome.status == "timeout" else "failed",
        error=f"{stage}: {outcome.error}",
        traceback=outcome.traceback,
    )


def _record(ctx: _Context, case: CaseId, result: CaseResult, elapsed: float) -> CaseOutcome:
    assert ctx.store is not None
    ctx.store.add(result)
    times = next((m.samples for m in result.metrics if m.name == "time"), ())
    return CaseOutcome(
        case, ctx.target.tag, result.status, result.error or None, times, len(result.metrics),
        elapsed,
    )  # fmt: skip
