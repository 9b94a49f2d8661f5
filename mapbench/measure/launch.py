"""The parent side of the measuring worker (`mapbench.measure.worker`): write the job, start
the worker as every child of mapbench starts (`mapbench.isolate.ChildLauncher`), read its
results back; a worker that dies charges every case it was measuring with why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mapbench.isolate import ChildLauncher, Outcome
from mapbench.measure.worker import WorkerJob, write_job
from mapbench.schema import CaseResult, SchemaError, Status, decode

WORKER_MODULE = "mapbench.measure.worker"


@dataclass(frozen=True)
class WorkerRun:
    """One worker process: a result per case of its job, its environment, and how it ended."""

    results: tuple[CaseResult, ...]
    environment: Mapping[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None


class WorkerLauncher(ChildLauncher):
    """Starts measuring workers (and any other child of mapbench) from one private directory."""

    def run(
        self, python: str, job: WorkerJob, *, prefix: Sequence[str] = (), name: str = "job"
    ) -> WorkerRun:
        """One worker process for `job` (optionally under `prefix`, such as valgrind)."""
        job_path, out = self.answer_file(f"{name}.job"), self.answer_file(name)
        write_job(job, job_path)
        args = [str(job_path), str(out)]
        outcome = self.run_module(python, WORKER_MODULE, args, job.hash_seed, prefix=prefix)
        if outcome.status == "ok":
            try:
                decoded = decode(out.read_bytes())
            except (OSError, SchemaError) as exc:
                outcome = Outcome("failed", 0, f"no readable results: {exc}", "", outcome.elapsed)
            else:
                if len(decoded.results) == len(job.cases):
                    return WorkerRun(decoded.results, decoded.environment, outcome)
                outcome = Outcome("failed", 0, "results missing", "", outcome.elapsed)
        return WorkerRun(charged(job, outcome), {}, outcome)


def charged(job: WorkerJob, outcome: Outcome) -> tuple[CaseResult, ...]:
    """A failed result for every case of a worker that died, saying how it died."""
    error = f"worker process: {outcome.error or 'wrote no results'}"
    status: Status = "timeout" if outcome.status == "timeout" else "failed"
    return tuple(
        CaseResult.of(c, status=status, error=error, traceback=outcome.traceback) for c in job.cases
    )


__all__ = ["WORKER_MODULE", "WorkerLauncher", "WorkerRun", "charged"]
