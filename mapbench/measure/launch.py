"""Start mapbench's own child processes: the one protocol every child of mapbench follows.

A child is `python -m <module> ARGS` (`WorkerLauncher.run_module`): it runs in its own process
group, in the launcher's private directory (nothing importable in it), with a deadline, the hash
seed pinned before the interpreter starts and faulthandler on; it dies with its parent and
reports a map's failure through `mapbench._child`; its answer is a file in that directory, named
in ARGS. The children: the measuring worker (`mapbench.measure.worker`, JOB.json -> results;
`WorkerLauncher.run` writes the job, reads the results and charges every case of a worker that
died with why), the description of an interpreter or a map (`mapbench.describe`), and
`mapbench run`'s pyperf timing pass (`mapbench.runner._timeworker`, whose pyperf workers are
the manager's children).
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

    def answer_file(self, name: str) -> Path:
        """A child's answer file, `<name>.json` in the private directory (none there yet)."""
        path = self.directory / f"{name}.json"
        path.unlink(missing_ok=True)
        return path

    def run_module(
        self,
        python: str,
        module: str,
        args: Sequence[str],
        hash_seed: str,
        *,
        prefix: Sequence[str] = (),
        timeout: float | None = None,
    ) -> Outcome:
        """Run `python -m module ARGS` as a child of mapbench (optionally under `prefix`, such
        as valgrind); how it ended. The child writes its answer where ARGS say."""
        return run_isolated(
            [*prefix, python, "-m", module, *args],
            timeout=self.timeout if timeout is None else timeout,
            env=worker_environ(hash_seed, inherit_pythonpath=self.inherit_pythonpath),
            cwd=self.directory,
        )

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


__all__ = ["WORKER_MODULE", "WorkerLauncher", "WorkerRun", "charged", "worker_environ"]
