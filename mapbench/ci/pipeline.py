"""`mapbench ci`: build two commits, measure them interleaved, compare, report, give a verdict.

Output directory layout (every path is stable, so CI can upload and post them):
    report.html      the full HTML report (verdict summary first)
    summary.md       the Markdown summary, short enough for a pull-request comment
    results/base/, results/head/   mapbench metrics JSON of each side (`mapbench report` reads it)
    site/            the publishable directory: index.html (the report), results/, asv/ when --asv
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapbench.case import CaseId
from mapbench.ci import adaptive, asv_site, instructions
from mapbench.ci.build import build, resolve
from mapbench.ci.interleave import Progress, Runner, Side, SideRuns, run_interleaved
from mapbench.ci.results_io import compare_runs
from mapbench.compare import Comparison
from mapbench.errors import MapbenchError
from mapbench.reports import markdown_escape, markdown_text, render_html
from mapbench.results import problems_as_text
from mapbench.thresholds import EXIT_TOO_NOISY, Thresholds


@dataclass(frozen=True)
class CiOptions:
    """Everything `mapbench ci` was asked to do."""

    repo: Path
    base: str
    head: str
    output: Path
    work_dir: Path
    cases: tuple[CaseId, ...]
    rounds: int = 10
    reps: int = 5
    thresholds: Thresholds = field(default_factory=Thresholds)
    timeout: float = 600.0
    asv: bool = False
    asv_bench: str = asv_site.DEFAULT_BENCH
    instructions: bool = False
    budget: float | None = None  # seconds: add rounds until the intervals are tight
    allow_noisy: bool = False  # exit 0, not 3, when a row is too noisy to judge


@dataclass(frozen=True)
class CiOutcome:
    """The comparison, the cases that worked at base but broke at head, and the files written."""

    comparison: Comparison
    broken: tuple[tuple[str, str], ...]  # (case label, error at head)
    report: Path
    summary: Path
    site: Path
    allow_noisy: bool = False

    @property
    def exit_status(self) -> int:
        """1 on a regression past the thresholds or a case that broke; else 4 when a row was too
        noisy to judge (0 if allowed); else 0."""
        status = self.comparison.exit_status
        if self.broken or status == 1:
            return 1
        return 0 if status == EXIT_TOO_NOISY and self.allow_noisy else status


def run_ci(options: CiOptions, progress: Progress) -> CiOutcome:
    """The whole pipeline; raises `MapbenchError` on bad revisions or builds."""
    if options.rounds < 2:
        raise MapbenchError("--rounds must be at least 2: one round cannot interleave anything")
    commits = [resolve(options.repo, rev) for rev in (options.base, options.head)]
    builds = [build(options.repo, c, options.work_dir) for c in commits]
    sides = (
        Side("base", builds[0].python, builds[0].commit),
        Side("head", builds[1].python, builds[1].commit),
    )
    started = time.monotonic()
    with Runner(options.cases, timeout=options.timeout) as runner:
        base, head = run_interleaved(
            runner, sides, rounds=options.rounds, reps=options.reps, progress=progress
        )
        if options.budget:
            adaptive.extend(
                runner,
                (base, head),
                reps=options.reps,
                budget=options.budget,
                started=started,
                judge=lambda a, b: _judge(a, b, options),
                progress=progress,
            )
    rounds = len(base.processes)
    if options.instructions:
        if not instructions.available():
            raise MapbenchError("--instructions needs valgrind on PATH (apt-get install valgrind)")
        for runs in (base, head):
            progress(f"instruction counts under callgrind: {runs.side.name}")
            instructions.add_to(runs, options.cases, options.timeout)
    out = options.output
    out.mkdir(parents=True, exist_ok=True)
    method = {"ci": {"rounds": rounds, "reps": options.reps, "interleaved": True}}
    comparison, both = compare_runs(
        base, head, options.cases, options.thresholds, out / "results", method
    )
    for problem in problems_as_text(both.problems):
        print(problem)
    broken = tuple(
        (str(c), head.errors[c]) for c in options.cases if c in head.errors and c not in base.errors
    )
    title = f"mapbench ci: {comparison.base_label} vs {comparison.candidate_label}"
    report = render_html(both, out / "report.html", comparison, title=title)
    summary = out / "summary.md"
    summary.write_text(_summary_text(comparison, broken, options, rounds), encoding="utf-8")
    site = out / "site"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    shutil.copy2(report, site / "index.html")
    shutil.copytree(out / "results", site / "results")
    outcome = CiOutcome(comparison, broken, report, summary, site, options.allow_noisy)
    if options.asv:
        progress("asv: running both commits and publishing its site")
        asv_site.run_and_publish(options.repo, commits, site / "asv", options.asv_bench)
    return outcome


def _judge(base: SideRuns, head: SideRuns, options: CiOptions) -> Comparison:
    """The comparison of what was measured so far (for the adaptive rounds)."""
    with tempfile.TemporaryDirectory(prefix="mapbench-ci-look-") as tmp:
        comparison, _ = compare_runs(base, head, options.cases, options.thresholds, Path(tmp), {})
    return comparison


def _summary_text(
    comparison: Comparison, broken: Sequence[tuple[str, str]], options: CiOptions, rounds: int
) -> str:
    """The comparison's summary, plus cases that broke and how the samples were taken."""
    parts = [markdown_text(comparison).rstrip()]
    if broken:
        lines = [f"- `{markdown_escape(label)}`: {markdown_escape(err)}" for label, err in broken]
        parts.append("**Broken at head** (worked at base):\n" + "\n".join(lines))
    budget = f" (adaptive, budget {options.budget:g} s)" if options.budget else ""
    parts.append(
        f"<sub>mapbench ci: {rounds} interleaved rounds{budget} (base and head in alternating "
        f"processes) x {options.reps} runs per side; fails on a regression past "
        f"{options.thresholds.min_effect:.0%} (time) or any exact-metric increase beyond "
        f"{options.thresholds.deterministic_tolerance:.0%}; exit status {EXIT_TOO_NOISY} "
        "when nothing regressed but a row was too noisy to judge.</sub>"
    )
    return "\n\n".join(parts) + "\n"
