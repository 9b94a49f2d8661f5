"""Run two sides (base and head) in alternating worker processes: A B, B A, A B, ...

Noise on a shared machine comes in bursts lasting seconds (docs/ci.md); a round measures both
sides within the same second or so, and the order flips every round so that neither side always
runs first. The deterministic pass runs once per side: its numbers do not depend on timing.

Each side's interpreter runs its own commit's measuring worker (`mapbench.measure.worker`), so
both sides are measured by the same library code paths as `mapbench run` and `mapbench measure`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mapbench.case import CaseId
from mapbench.catalog import info
from mapbench.measure.launch import WorkerLauncher, WorkerRun
from mapbench.measure.worker import WorkerJob
from mapbench.schema import Measurement

# Pinned for every worker: str hashes, and so str-key probe lengths, depend on it.
HASH_SEED = "0"
# Collectors whose deterministic metrics the exact pass records (their noisy ones are dropped:
# one process gives one sample, which no statistic can judge).
EXACT_COLLECTORS = ("gc", "blocks", "tracemalloc", "allocations", "memory", "probes")


@dataclass(frozen=True)
class Side:
    """What one side runs: an interpreter, the spec each map label is created from there, and
    the maps that do not exist there (new or removed: never run on this side)."""

    name: str
    python: str
    commit: str | None = None
    specs: Mapping[str, str] = field(default_factory=dict)  # label -> spec; default: the label
    label: str = ""  # what was built: a commit's short hash, a requirement, a wheel's path
    absent: frozenset[str] = frozenset()

    @property
    def title(self) -> str:
        """The side's name and what it measures: "base 1a2b3c4d5e6f", "head pkg==7.0"."""
        return f"{self.name} {self.label or (self.commit or '')[:12]}".strip()

    def cases(self, cases: Sequence[CaseId]) -> list[CaseId]:
        """The cases of maps that exist on this side."""
        return [c for c in cases if c.map not in self.absent]

    def loadable(self, case: CaseId) -> CaseId:
        """`case` as this side's worker loads it (with this side's spec of its map)."""
        return dataclasses.replace(case, spec=self.specs.get(case.map, ""))


@dataclass
class SideRuns:
    """Everything measured for one side, by case."""

    side: Side
    # per case, per worker process: the time measurements of its runs ("time", "cpu_time")
    rounds: dict[CaseId, list[list[Measurement]]] = field(default_factory=dict)
    metrics: dict[CaseId, list[Measurement]] = field(default_factory=dict)
    errors: dict[CaseId, str] = field(default_factory=dict)
    params: dict[CaseId, dict[str, Any]] = field(default_factory=dict)  # e.g. the value form
    environment: dict[str, Any] = field(default_factory=dict)
    processes: list[float] = field(default_factory=list)  # wall seconds of each timing process


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class Runner:
    """Starts each side's worker processes for a fixed list of cases."""

    def __init__(self, cases: Sequence[CaseId], *, timeout: float = 600.0) -> None:
        self.cases = list(cases)
        # A commit's interpreter must import only its own environment: no PYTHONPATH.
        self.launcher = WorkerLauncher(timeout=timeout, inherit_pythonpath=False)

    @property
    def timeout(self) -> float:
        return self.launcher.timeout

    def close(self) -> None:
        self.launcher.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def job(
        self,
        side: Side,
        *,
        reps: int = 0,
        collectors: tuple[str, ...] = (),
        plain_runs: int = 0,
    ) -> WorkerJob:
        """The worker job for one pass over every case on `side`."""
        return WorkerJob(
            tuple(side.loadable(c) for c in side.cases(self.cases)),
            HASH_SEED,
            reps=reps,
            collectors=collectors,
            plain_runs=plain_runs,
            # A plain pass only counts instructions (outside what it describes): nobody reads
            # its environment, and describing it under valgrind would only cost time.
            environment=not plain_runs,
        )

    def run(self, side: Side, job: WorkerJob, prefix: Sequence[str] = ()) -> WorkerRun:
        """One worker process (optionally under a `prefix` such as valgrind)."""
        # One job and answer file per side and kind of pass, overwritten by the next such pass.
        if not job.cases:  # every map is absent on this side
            return WorkerRun(())
        kind = "plain" if job.plain_runs else "time" if job.reps else "exact"
        return self.launcher.run(side.python, job, prefix=prefix, name=f"{side.name}-{kind}")


def schedule(sides: tuple[Side, Side], rounds: int, start: int = 0) -> list[Side]:
    """The order of worker processes of rounds `start`.. `start + rounds`: A B, B A, A B, ..."""
    return [
        side
        for r in range(start, start + rounds)
        for side in (sides if r % 2 == 0 else sides[::-1])
    ]


def run_rounds(
    runner: Runner,
    runs: tuple[SideRuns, SideRuns],
    *,
    rounds: int,
    reps: int,
    progress: Progress = _quiet,
) -> None:
    """`rounds` more interleaved rounds, added to what `runs` already holds."""
    sides = (runs[0].side, runs[1].side)
    by_name = {r.side.name: r for r in runs}
    start = len(runs[0].processes)
    for i, side in enumerate(schedule(sides, rounds, start)):
        progress(f"process {2 * start + i + 1}/{2 * (start + rounds)}: {side.name}")
        _take_times(by_name[side.name], runner.run(side, runner.job(side, reps=reps)))


def run_interleaved(
    runner: Runner,
    sides: tuple[Side, Side],
    *,
    rounds: int,
    reps: int,
    deterministic: bool = True,
    progress: Progress = _quiet,
) -> tuple[SideRuns, SideRuns]:
    """`rounds` worker processes per side in `schedule()` order, then the exact-metrics pass."""
    runs = (SideRuns(sides[0]), SideRuns(sides[1]))
    run_rounds(runner, runs, rounds=rounds, reps=reps, progress=progress)
    if deterministic:
        for side_runs in runs:
            progress(f"exact metrics: {side_runs.side.name}")
            done = runner.run(
                side_runs.side, runner.job(side_runs.side, collectors=EXACT_COLLECTORS)
            )
            _take_metrics(side_runs, done)
    return runs


def _take_times(runs: SideRuns, done: WorkerRun) -> None:
    runs.environment = runs.environment or dict(done.environment)
    runs.processes.append(done.outcome.elapsed if done.outcome else 0.0)
    for result in done.results:
        case = result.case
        if result.status != "ok":
            runs.errors.setdefault(case, result.error)
        elif result.metrics:
            runs.rounds.setdefault(case, []).append(list(result.metrics))
            runs.params.setdefault(case, dict(result.params))


def _take_metrics(runs: SideRuns, done: WorkerRun) -> None:
    for result in done.results:
        case = result.case
        if result.status != "ok":
            runs.errors.setdefault(case, result.error)
            continue
        exact = [m for m in result.metrics if info(m.name).kind != "noisy"]
        runs.metrics.setdefault(case, []).extend(exact)


def progress_to_stderr(message: str) -> None:
    """One progress line on stderr (the report goes to files, stdout gets the summary)."""
    print(f"mapbench ci: {message}", file=sys.stderr, flush=True)
