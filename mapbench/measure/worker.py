"""The measuring process: `python -m mapbench.measure.worker JOB.json OUT.json`.

`mapbench measure`, the collector pass of `mapbench run` and every worker of `mapbench ci` run
this module in a child process (in `ci`, the one installed in each commit's environment), so
that a map that crashes, hangs or exhausts memory takes down only this process, and so that
the hash seed is pinned before the interpreter starts. It reads a `WorkerJob`, measures each
case in turn (timing loop, then collectors, or plain untimed runs for instruction counting)
and writes a results file (`mapbench.schema`) with one `CaseResult` per case.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from mapbench._child import describe_exception, die_with_parent, traceback_tail
from mapbench.case import CaseId
from mapbench.measure.cases import open_case
from mapbench.measure.collectors import COLLECTORS, collect
from mapbench.measure.timing import gc_paused, time_runs
from mapbench.schema import CaseResult, Measurement, MetricsFile, encode
from mapbench.workloads import Case, WorkloadError, get_workload


class WorkerJob(msgspec.Struct, frozen=True):
    """What a worker does to each case: timed runs, collectors, or plain runs only."""

    cases: tuple[CaseId, ...]
    hash_seed: str
    reps: int = 0  # timed runs per case (0: no timing)
    warmups: int = 1
    collectors: tuple[str, ...] | None = ()  # None: every collector
    plain_runs: int = 0  # untimed runs in the function callgrind counts, and nothing else
    environment: bool = True  # describe the environment (not when instructions are counted)


def write_job(job: WorkerJob, path: Path) -> None:
    path.write_bytes(msgspec.json.encode(job))


def measure_case(job: WorkerJob, case_id: CaseId) -> CaseResult:
    """Everything the job asks for one case; a map's failure becomes the result's error."""
    base = CaseResult.of(case_id)
    try:
        case = open_case(case_id)
    except WorkloadError as exc:  # the map lacks a capability or key type the workload needs
        return msgspec.structs.replace(base, status="skipped", error=str(exc))
    except (Exception, SystemExit) as exc:
        return _failed(base, [("", exc)])
    if case.values_of.off_heap:  # the same data, stored as bytes: every table says so
        base = msgspec.structs.replace(base, params={"value_form": case.values_of.form})
    metrics: list[Measurement] = []
    unavailable: dict[str, str] = {}
    failures: list[tuple[str, BaseException]] = []
    try:
        if job.plain_runs:
            counted_runs(case, job.plain_runs)
        if job.reps:
            metrics += time_runs(case, job.reps, job.warmups).measurements()
    except (Exception, SystemExit) as exc:
        failures.append(("", exc))
    # Each collector on its own: a map that fails under one still gets the others' figures.
    names: Sequence[str] = list(COLLECTORS) if job.collectors is None else job.collectors
    if job.collectors is None:  # "every collector" means every one the workload is measured by
        left_out = get_workload(case_id.workload).not_collected
        unavailable.update(left_out)
        names = [name for name in names if name not in left_out]
    for name in names if not failures else ():
        try:
            found = collect(case, (name,))
        except (Exception, SystemExit) as exc:
            failures.append((f"{name} collector: ", exc))
            continue
        metrics += found.measurements
        unavailable.update(found.unavailable)
    try:
        case.close()
    except (Exception, SystemExit) as exc:
        failures.append(("closing the map: ", exc))
    if failures:
        return _failed(base, failures, metrics, unavailable)
    return msgspec.structs.replace(base, metrics=tuple(metrics), unavailable=unavailable)


def counted_runs(case: Case, runs: int) -> None:
    """`runs` untimed runs of `case`, each inside the one function callgrind counts
    (`mapbench.measure._counted`), the collector paused: the count holds the runs alone, not
    the resets between them nor anything else the process does."""
    from mapbench.measure import _counted  # only instruction counting needs it

    with gc_paused():
        for _ in range(runs):
            case.reset()
            _counted.call(case.run)


def _failed(
    base: CaseResult,
    failures: Sequence[tuple[str, BaseException]],
    metrics: Sequence[Measurement] = (),
    unavailable: Mapping[str, str] | None = None,
) -> CaseResult:
    """The case failed: each failure (where, exception) said in one line, the first traceback."""
    return msgspec.structs.replace(
        base,
        status="failed",
        error="; ".join(where + describe_exception(exc) for where, exc in failures),
        traceback=traceback_tail(failures[0][1]),
        metrics=tuple(metrics),
        unavailable=dict(unavailable or {}),
    )


def main(argv: list[str]) -> int:
    die_with_parent()
    if len(argv) != 3:
        print("usage: python -m mapbench.measure.worker JOB.json OUT.json", file=sys.stderr)
        return 2
    job = msgspec.json.decode(Path(argv[1]).read_bytes(), type=WorkerJob)
    actual = os.environ.get("PYTHONHASHSEED", "")
    if actual != job.hash_seed:
        print(
            f"mapbench worker: runs with PYTHONHASHSEED={actual or 'unset'}, "
            f"the job was planned with {job.hash_seed}",
            file=sys.stderr,
        )
        return 2
    results = tuple(measure_case(job, case) for case in job.cases)
    environment: dict[str, object] = {}
    if job.environment:
        from mapbench.environment import environment as describe

        environment = describe()
    Path(argv[2]).write_bytes(encode(MetricsFile(environment=environment, results=results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
