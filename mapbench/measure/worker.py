"""The measuring process: `python -m mapbench.measure.worker JOB.json OUT.json`.

`mapbench measure`, the collector pass of `mapbench run` and every worker of `mapbench ci` run
this module in a child process (in `ci`, the one installed in each commit's environment), so
that a map that crashes, hangs or exhausts memory takes down only this process, and so that
the hash seed is pinned before the interpreter starts. It reads a `WorkerJob`, measures each
case in turn (timing loop, then collectors, or plain untimed runs for instruction counting)
and writes a results file (`mapbench.schema`) with one `CaseResult` per case.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from mapbench.measure.case import CaseId
from mapbench.measure.collectors import collect
from mapbench.measure.timing import time_runs
from mapbench.schema import CaseResult, Measurement, MetricsFile, encode
from mapbench.workloads import WorkloadError

# How many lines of a failing map's traceback are kept with its result.
TRACEBACK_LINES = 12


class CaseArgs(msgspec.Struct, frozen=True):
    """A `CaseId` as it travels in a job file."""

    map: str
    workload: str
    key_kind: str
    size: int
    seed: int = 0
    spec: str = ""

    @classmethod
    def of(cls, case: CaseId) -> CaseArgs:
        return cls(case.map, case.workload, case.key_kind, case.size, case.seed, case.spec)

    def case_id(self) -> CaseId:
        return CaseId(self.map, self.workload, self.key_kind, self.size, self.seed, self.spec)


class WorkerJob(msgspec.Struct, frozen=True):
    """What a worker does to each case: timed runs, collectors, or plain runs only."""

    cases: tuple[CaseArgs, ...]
    hash_seed: str
    reps: int = 0  # timed runs per case (0: no timing)
    warmups: int = 1
    collectors: tuple[str, ...] | None = ()  # None: every collector
    plain_runs: int = 0  # untimed runs and nothing else (for counting instructions)
    environment: bool = True  # describe the environment (not when instructions are counted)


def write_job(job: WorkerJob, path: Path) -> None:
    path.write_bytes(msgspec.json.encode(job))


def describe_exception(exc: BaseException) -> str:
    """`module.Type: message`, as one line (any exception class, `SystemExit` included)."""
    cls = type(exc)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    message = str(exc).strip().splitlines()
    return f"{name}: {message[0]}" if message else name


def traceback_tail(exc: BaseException) -> str:
    """The last lines of `exc`'s traceback, where a map's failure shows."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def measure_case(job: WorkerJob, args: CaseArgs) -> CaseResult:
    """Everything the job asks for one case; a map's failure becomes the result's error."""
    case_id = args.case_id()
    base = CaseResult(
        case_id.map, case_id.workload, case_id.size, case_id.key_kind, case_id.seed,
        case_id.loadable_spec,
    )  # fmt: skip
    try:
        case = case_id.open()
    except WorkloadError as exc:  # the map lacks a capability or key type the workload needs
        return msgspec.structs.replace(base, status="skipped", error=str(exc))
    except (Exception, SystemExit) as exc:
        return _failed(base, exc)
    metrics: list[Measurement] = []
    unavailable: dict[str, str] = {}
    try:
        for _ in range(job.plain_runs):
            case.reset()
            case.run()
        if job.reps:
            metrics += time_runs(case, job.reps, job.warmups).measurements()
        if job.collectors is None or job.collectors:
            found = collect(case, job.collectors)
            metrics += found.measurements
            unavailable = found.unavailable
        case.close()
    except (Exception, SystemExit) as exc:
        with contextlib.suppress(Exception, SystemExit):
            case.close()
        return _failed(base, exc, metrics, unavailable)
    return msgspec.structs.replace(base, metrics=tuple(metrics), unavailable=unavailable)


def _failed(
    base: CaseResult,
    exc: BaseException,
    metrics: Sequence[Measurement] = (),
    unavailable: Mapping[str, str] | None = None,
) -> CaseResult:
    return msgspec.structs.replace(
        base,
        status="failed",
        error=describe_exception(exc),
        traceback=traceback_tail(exc),
        metrics=tuple(metrics),
        unavailable=dict(unavailable or {}),
    )


def main(argv: list[str]) -> int:
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
    results = tuple(measure_case(job, args) for args in job.cases)
    environment: dict[str, object] = {}
    if job.environment:
        from mapbench.environment import environment as describe

        environment = describe()
    Path(argv[2]).write_bytes(encode(MetricsFile(environment=environment, results=results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
