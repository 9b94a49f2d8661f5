"""Run the measuring worker (`mapbench.measure.worker`) in an isolated child process.

The parent side of the worker contract: write the job, run `python -m mapbench.measure.worker`
in its own process group in a private directory with a deadline and the hash seed pinned, read
its results back. A worker that dies charges every case it was measuring with why.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapbench.isolate import Outcome, run_isolated
from mapbench.measure.worker import WorkerJob, write_job
from mapbench.schema import CaseResult, SchemaError, Status, decode

WORKER_MODULE = "mapbench.measure.worker"


@dataclass(frozen=True)
class WorkerRun:
    """One worker process: a result per case of its job, its environment, and how it ended."""

    results: tuple[CaseResult, ...]
    environment: Mapping[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None


def worker_environ(hash_seed: str, *, inherit_pythonpath: bool = True) -> dict[str, str]:
    """This environment with the hash seed pinned and faulthandler on (crash tracebacks).

    `inherit_pythonpath=False` drops PYTHONPATH and PYTHONHOME, for interpreters that must import
    only their own environment (a commit's build in `mapbench ci`); otherwise relative
    PYTHONPATH entries are made absolute, since workers run in a private directory.
    """
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hash_seed
    env["PYTHONFAULTHANDLER"] = "1"
    if not inherit_pythonpath:
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
    elif env.get("PYTHONPATH"):
        parts = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in parts if p)
    return env


class WorkerLauncher:
    """Runs worker processes from one private directory (nothing importable in it)."""

    def __init__(self, *, timeout: float, inherit_pythonpath: bool = True) -> None:
        self.timeout = timeout
        self.inherit_pythonpath = inherit_pythonpath
        self.directory = Path(tempfile.mkdtemp(prefix="mapbench-worker-"))

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> WorkerLauncher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def command(self, python: str, job: WorkerJob, name: str = "job") -> tuple[list[str], Path]:
        """The worker's command line for `job`, and the file it will write."""
        job_path = self.directory / f"{name}.json"
        out = self.directory / f"{name}.out.json"
        write_job(job, job_path)
        out.unlink(missing_ok=True)
        return [python, "-m", WORKER_MODULE, str(job_path), str(out)], out

    def environ_for(self, hash_seed: str) -> dict[str, str]:
        """The environment of a child this launcher starts (see `worker_environ`)."""
        return worker_environ(hash_seed, inherit_pythonpath=self.inherit_pythonpath)

    def run(
        self, python: str, job: WorkerJob, *, prefix: Sequence[str] = (), name: str = "job"
    ) -> WorkerRun:
        """One worker process for `job` (optionally under `prefix`, such as valgrind)."""
        cmd, out = self.command(python, job, name)
        outcome = run_isolated(
            [*prefix, *cmd],
            timeout=self.timeout,
            env=self.environ_for(job.hash_seed),
            cwd=self.directory,
        )
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


__all__ = ["WORKER_MODULE", "WorkerLauncher", "WorkerRun", "charged", "worker_environ"]
