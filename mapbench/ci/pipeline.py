"""`mapbench ci`: build two commits, measure them interleaved, compare, report, give a verdict.

Output directory layout (every path is stable, so CI can upload and post them):
    report.html      the full HTML report (verdict summary first)
    summary.md       the Markdown summary, short enough for a pull-request comment
    verdicts.json    every verdict row, after confirmation and the instruction fallback (JSON)
    results/base/, results/head/   mapbench metrics JSON of each side (`mapbench report` reads it)
    site/            the publishable directory: index.html (the report), results/, asv/ when --asv

The output directory must be new or empty (checked before anything is built): ci never deletes
files it did not write, and publishes in site/ only the files it wrote (the code measured, a pull
request's, may plant others meanwhile). Every file is written atomically.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapbench.atomic_files import write_bytes_atomic
from mapbench.case import CaseId
from mapbench.ci import adaptive, asv_site, instructions, second_opinion
from mapbench.ci.interleave import Progress, Runner, Side, SideRuns, run_interleaved
from mapbench.ci.output_directory import check_output
from mapbench.ci.results_io import compare_runs, look
from mapbench.ci.sides import Prepared, SideError, check_presence, prepare, source_of
from mapbench.compare import Comparison
from mapbench.errors import MapbenchError
from mapbench.escaping import markdown_inline
from mapbench.input_files import read_input
from mapbench.reports import markdown_text, render_html
from mapbench.results import problems_as_text
from mapbench.spec import parse as parse_spec_text
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
    allow_noisy: bool = False  # exit 0, not 4, when a row is too noisy to judge
    # count instructions (callgrind) for time rows still too noisy after the rounds
    instruction_fallback: bool = True


@dataclass(frozen=True)
class CiOutcome:
    """The comparison, the cases that worked at base but broke at head, the maps new or removed
    at head, and the files written."""

    comparison: Comparison
    broken: tuple[tuple[str, str], ...]  # (case label, error at head)
    new: tuple[str, ...]
    removed: tuple[str, ...]
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
    check_output(options.output)
    if options.rounds < 2:
        raise MapbenchError("--rounds must be at least 2: one round cannot interleave anything")
    prepared = prepare_sides(options, progress)
    maps = [c.map for c in options.cases]
    sides = (side_of(prepared[0], maps), side_of(prepared[1], maps))
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
    more = (
        []
        if options.budget  # the adaptive rounds gave loose rows what the budget allowed
        else second_opinion.more_rounds(
            (base, head), comparison, rounds=options.rounds, reps=options.reps,
            timeout=options.timeout, progress=progress,
        )
    )  # fmt: skip
    if more:
        comparison, both = compare_runs(
            base, head, options.cases, options.thresholds, out / "results", method
        )
    comparison = second_opinion.confirm(
        comparison,
        sides,
        options.cases,
        rounds=options.rounds,
        reps=options.reps,
        timeout=options.timeout,
        progress=progress,
    )
    if options.instruction_fallback:
        comparison = second_opinion.answer_too_noisy(
            comparison, sides, options.cases, rounds=rounds, timeout=options.timeout,
            progress=progress,
        )  # fmt: skip
    for problem in problems_as_text(both.problems):
        print(problem)
    broken = tuple(
        (str(c), head.errors[c]) for c in options.cases if c in head.errors and c not in base.errors
    )
    new = tuple(sorted(sides[0].absent - sides[1].absent))
    removed = tuple(sorted(sides[1].absent - sides[0].absent))
    title = f"mapbench ci: {comparison.base_label} vs {comparison.candidate_label}"
    report = render_html(both, out / "report.html", comparison, title=title)
    summary = write_bytes_atomic(
        out / "summary.md",
        _summary_text(comparison, broken, (new, removed), options, (rounds, len(more))).encode(),
    )
    verdicts = comparison.rows.to_json(orient="records", indent=1)
    write_bytes_atomic(out / "verdicts.json", verdicts.encode())
    site = out / "site"
    site.mkdir()
    for ours in (report, *map(Path, both.environments)):  # the two results files written
        published = site / ours.relative_to(out) if ours != report else site / "index.html"
        published.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(published, read_input(ours, ours.parent))
    outcome = CiOutcome(
        comparison, broken, new, removed, report, summary, site, options.allow_noisy
    )
    if options.asv:
        progress("asv: running both commits and publishing its site")
        commits = [p.source.commit or "" for p in prepared]
        asv_site.run_and_publish(options.repo, commits, site / "asv", options.asv_bench)
    return outcome


def prepare_sides(options: CiOptions, progress: Progress) -> tuple[Prepared, Prepared]:
    """Both sides named, built and checked before anything is measured (bad input: exit 2)."""
    sources = [
        source_of(n, t, options.repo) for n, t in (("base", options.base), ("head", options.head))
    ]
    if options.asv and any(s.commit is None for s in sources):
        raise SideError(
            "--asv benchmarks commits of the repository: BASE and HEAD must be revisions"
        )
    maps = list(dict.fromkeys(c.map for c in options.cases))
    base, head = (
        prepare(n, s, maps, options.work_dir, progress)
        for n, s in zip(("base", "head"), sources, strict=True)
    )
    check_presence((base, head), maps)
    return base, head


def side_of(prepared: Prepared, maps: Sequence[str]) -> Side:
    """The measuring side of a prepared one: its interpreter, source and absent maps (a spec of
    a file made absolute: workers run in a directory of their own)."""
    source = prepared.source
    return Side(
        prepared.name,
        prepared.environment.python,
        source.commit,
        specs={m: parse_spec_text(m).absolute() for m in maps},
        label=source.label,
        absent=frozenset(prepared.absent),
    )


def _judge(base: SideRuns, head: SideRuns, options: CiOptions) -> Comparison:
    """The comparison of what was measured so far (for the adaptive rounds)."""
    return look(base, head, options.cases, options.thresholds)


def _summary_text(
    comparison: Comparison,
    broken: Sequence[tuple[str, str]],
    changed_maps: tuple[Sequence[str], Sequence[str]],
    options: CiOptions,
    rounds: tuple[int, int],
) -> str:
    """The comparison's summary, plus cases that broke, maps new or removed at head, and how
    the samples were taken (`rounds`: the rounds of every case, and how many cases were given
    as many again for too wide an interval)."""
    parts = [markdown_text(comparison).rstrip()]
    for title, maps in zip(("New at head", "Removed at head"), changed_maps, strict=True):
        if maps:
            parts.append(
                f"**{title}** (measured on one side only): "
                + ", ".join(markdown_inline(m) for m in maps)
            )
    if broken:
        lines = [f"- {markdown_inline(label)}: {markdown_inline(err)}" for label, err in broken]
        parts.append("**Broken at head** (worked at base):\n" + "\n".join(lines))
    budget = f" (adaptive, budget {options.budget:g} s)" if options.budget else ""
    if rounds[1]:
        budget += f", {options.rounds} more for {rounds[1]} case(s) whose interval was too wide"
    parts.append(
        f"<sub>mapbench ci: {rounds[0]} interleaved rounds{budget} (base and head in alternating "
        f"processes) x {options.reps} runs per side; fails on a regression past "
        f"{options.thresholds.min_effect:.0%} (time, confirmed by {options.rounds} fresh "
        "interleaved rounds of the flagged cases; instruction counts where time was too noisy) "
        "or any exact-metric increase beyond "
        f"{options.thresholds.deterministic_tolerance:.0%}; exit status {EXIT_TOO_NOISY} "
        "when nothing regressed but a row was too noisy to judge.</sub>"
    )
    return "\n\n".join(parts) + "\n"
