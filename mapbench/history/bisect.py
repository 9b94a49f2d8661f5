"""Find the first bad commit between GOOD and BAD by binary search over the first-parent chain.

Each commit tested is built once into its cached environment (`mapbench.builder`) and measured
against GOOD's build with `mapbench ci`'s machinery: an exact metric (probe lengths, allocation
counts) in one process per side, compared exactly; time in interleaved worker processes (A B,
B A, ...) judged by `mapbench.compare`, the `ci` verdict. A commit is bad when any selected case
regressed in time, or changed at all in an exact metric. BAD is taken to be bad (as `git bisect`
does) and measured only when the search ends on it, so n commits cost 1 + ceil(log2 n) builds.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapbench.case import CaseId
from mapbench.catalog import info
from mapbench.ci.interleave import Progress, Runner, Side, run_interleaved
from mapbench.ci.results_io import compare_runs
from mapbench.ci.sides import SideError, check_presence, prepare, source_of
from mapbench.compare import Verdict
from mapbench.errors import MapbenchError
from mapbench.formatting import value as format_value
from mapbench.git import first_parent_range, subject
from mapbench.sources import Source
from mapbench.thresholds import Thresholds


class BisectStopped(MapbenchError):
    """The search cannot go on: a build failed, a case failed, or a verdict was too noisy."""


@dataclass(frozen=True)
class BisectOptions:
    """Everything `mapbench bisect` was asked to do."""

    repo: Path
    good: str
    bad: str
    cases: tuple[CaseId, ...]
    metric: str
    work_dir: Path
    output: Path
    rounds: int = 10
    reps: int = 5
    thresholds: Thresholds = field(default_factory=Thresholds)
    timeout: float = 600.0


@dataclass(frozen=True)
class Step:
    """One commit tested: good or bad, and per case what was seen against GOOD."""

    commit: str
    subject: str
    bad: bool
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class BisectOutcome:
    """The first bad commit, the last good one, every step, and how many commits were built."""

    first_bad: str
    subject: str
    last_good: str
    steps: tuple[Step, ...]
    builds: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_bad": self.first_bad,
            "subject": self.subject,
            "last_good": self.last_good,
            "builds": self.builds,
            "steps": [
                {"commit": s.commit, "subject": s.subject, "bad": s.bad, "evidence": s.evidence}
                for s in self.steps
            ],
        }


def bisect(options: BisectOptions, progress: Progress) -> BisectOutcome:
    """The binary search; raises `BisectStopped` (or `MapbenchError`) when it cannot finish."""
    try:
        kind = info(options.metric).kind
    except KeyError:
        raise MapbenchError(f"unknown metric {options.metric!r} (see docs/metrics.md)") from None
    good_source, bad_source = (
        source_of(side, text, options.repo)
        for side, text in (("GOOD", options.good), ("BAD", options.bad))
    )
    if good_source.commit is None or bad_source.commit is None:
        raise SideError("bisect searches the commits between GOOD and BAD: both must be revisions")
    good, bad = good_source.commit, bad_source.commit
    commits = first_parent_range(options.repo, good, bad)
    search = _Search(options, kind == "noisy", progress)
    search.good_side = search.side("good", good_source)
    low, high = -1, len(commits) - 1  # commits[low] is good (GOOD itself at -1), [high] bad
    while high - low > 1:
        middle = (low + high) // 2
        if search.test(commits[middle]).bad:
            high = middle
        else:
            low = middle
    if commits[high] not in search.tested and not search.test(commits[high]).bad:
        raise BisectStopped(
            f"BAD {bad[:12]} shows no {'regression' if search.noisy else 'change'} of "
            f"{options.metric} against GOOD {good[:12]}: nothing to bisect"
        )
    first_bad = commits[high]
    return BisectOutcome(
        first_bad=first_bad,
        subject=subject(options.repo, first_bad),
        last_good=commits[low] if low >= 0 else good,
        steps=tuple(search.steps),
        builds=len(search.tested) + 1,
    )


class _Search:
    """Builds and tests commits against GOOD, remembering every step."""

    def __init__(self, options: BisectOptions, noisy: bool, progress: Progress) -> None:
        self.options = options
        self.noisy = noisy
        self.progress = progress
        self.good_side: Side | None = None
        self.tested: dict[str, Step] = {}
        self.steps: list[Step] = []

    def side(self, name: str, source: Source) -> Side:
        """The measuring side of `source`, built; every map must exist there."""
        maps = list(dict.fromkeys(c.map for c in self.options.cases))
        try:
            prepared = prepare(name, source, maps, self.options.work_dir, self.progress)
            check_presence([prepared], maps)
        except SideError as exc:
            title = subject(self.options.repo, source.location)
            raise BisectStopped(
                f"{exc} ({source.label}: {title}); bisect a narrower range that avoids it"
            ) from exc
        return Side(name, prepared.environment.python, source.commit, label=source.label)

    def test(self, commit: str) -> Step:
        """Measure `commit` against GOOD and judge it."""
        assert self.good_side is not None
        o = self.options
        title = subject(o.repo, commit)
        self.progress(f"testing {commit[:12]} {title}")
        candidate = Source("commit", commit, commit, commit, repo=o.repo)
        sides = (self.good_side, self.side("tested", candidate))
        with Runner(o.cases, timeout=o.timeout) as runner:
            base, head = run_interleaved(
                runner,
                sides,
                rounds=o.rounds if self.noisy else 0,
                reps=o.reps,
                deterministic=not self.noisy,
                progress=self.progress,
            )
        failed = {**base.errors, **head.errors}
        if failed:
            case, error = next(iter(failed.items()))
            raise BisectStopped(f"{case} failed at {commit[:12]} or GOOD: {error}")
        directory = o.output / f"{len(self.steps) + 1:02d}-{commit[:12]}"
        shutil.rmtree(directory, ignore_errors=True)
        comparison, _ = compare_runs(
            base, head, o.cases, o.thresholds, directory, {"bisect": {"metric": o.metric}}
        )
        # Time is judged on one clock per case (CPU time, or wall time where the work waits):
        # either row stands for --metric time or cpu_time.
        clocks = ("time", "cpu_time")
        wanted = clocks if o.metric in clocks else (o.metric,)
        rows = comparison.rows[comparison.rows["metric"].isin(wanted)]
        missing = {str(c) for c in o.cases} - {_case(r) for r in rows.to_dict("records")}
        if missing:
            raise BisectStopped(
                f"{o.metric} was not measured for {', '.join(sorted(missing))} "
                "(does the map report it?)"
            )
        step = self._judge(commit, title, rows.to_dict("records"))
        self.tested[commit] = step
        self.steps.append(step)
        self.progress(f"{commit[:12]} is {'bad' if step.bad else 'good'}")
        return step

    def _judge(self, commit: str, title: str, rows: Sequence[dict[str, Any]]) -> Step:
        bad_verdicts = (
            {Verdict.REGRESSION} if self.noisy else {Verdict.REGRESSION, Verdict.IMPROVEMENT}
        )
        evidence = tuple(_evidence(r) for r in rows)
        unsure = [r for r in rows if r["verdict"] == Verdict.INCONCLUSIVE]
        if unsure and not any(r["verdict"] in bad_verdicts for r in rows):
            raise BisectStopped(
                f"too noisy to judge {commit[:12]} ({title}): {'; '.join(evidence)}; "
                "use more --rounds, a larger --threshold, or an exact metric"
            )
        return Step(commit, title, any(r["verdict"] in bad_verdicts for r in rows), evidence)


def _case(row: dict[str, Any]) -> str:
    return f"{row['map']}/{row['workload']}/{row['key_kind']}/{row['size']}"


def _evidence(row: dict[str, Any]) -> str:
    """One line: the case, GOOD's and the tested value, the ratio (and interval) and verdict."""
    unit = str(row["unit"])
    text = (
        f"{_case(row)}: {format_value(row['base'], unit)} at GOOD, "
        f"{format_value(row['candidate'], unit)} here, x{row['ratio']:.4g}"
    )
    if row["kind"] == "noisy" and row["ci_low"] == row["ci_low"]:  # an interval was computed
        text += f" [{row['ci_low']:.3g}, {row['ci_high']:.3g}], q={row['q_value']:.2g}"
    return f"{text}: {row['verdict']}"


__all__ = ["BisectOptions", "BisectOutcome", "BisectStopped", "Step", "bisect"]
