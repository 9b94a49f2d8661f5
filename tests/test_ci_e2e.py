"""End to end: `mapbench ci` on a real git repository, with two busy loops competing for the
two cores the whole time, flags a map made ~50% slower and passes a commit that changes nothing."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mapbench.ci.background import busy_loops

Git = Callable[..., str]  # the `git` fixture (conftest)
RunCi = Callable[..., "subprocess.CompletedProcess[str]"]  # also `run_mapbench`

# A small, quick selection at the default threshold (10%): the verdict is the one users get.
CI_ARGS = [
    *("--map", "sharded", "--map", "dict"),
    *("--workload", "lookup-hit"),
    *("--key-kind", "random-int", "--size", "2000"),
    *("--rounds", "10", "--reps", "5"),
]
# Injected into ShardedMap.__getitem__: a dozen empty loop iterations, about 50% more CPU time
# per lookup (343 -> 507 ns on a quiet machine); far from the 10% threshold, so the test checks
# the pipeline under load rather than the limits of its sensitivity (the benchmark's job).
SLOW_LOOKUP = "        for _ in range(12):\n            pass\n"
# Competing for the cores as other jobs on a shared CI runner do, during every run of `ci`.
BACKGROUND_LOAD = 2

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(
    tmp_path_factory: pytest.TempPathFactory, git: Git, checkout_repo: Callable[..., Path]
) -> dict[str, Path | str]:
    """base; slow (sharded lookups ~50% slower); noop (a README edit on top of slow)."""
    root = tmp_path_factory.mktemp("ci-e2e")
    repo = checkout_repo(root)
    sharded = repo / "impls" / "sharded.py"
    text = sharded.read_text()
    head = "    def __getitem__(self, key: Any) -> Any:\n"
    assert head in text, "the test's injection point moved: update SLOW_LOOKUP's anchor"
    sharded.write_text(text.replace(head, head + SLOW_LOOKUP, 1))
    git(repo, "commit", "-q", "-am", "slower sharded lookups")
    with (repo / "README.md").open("a") as f:
        f.write("\nA line that changes nothing measurable.\n")
    git(repo, "commit", "-q", "-am", "README only")
    return {"repo": repo, "work": root / "work", "out": root}


@pytest.fixture
def loaded() -> Iterator[None]:
    """Two busy-loop processes for the duration of one test."""
    with busy_loops(BACKGROUND_LOAD):
        yield


@pytest.fixture(scope="module")
def run_ci(repo: dict[str, Path | str], run_mapbench: RunCi) -> RunCi:
    """`mapbench ci ARGS` on the test repository, run the way a user (or the workflow) runs it."""
    where = ["--repo", str(repo["repo"]), "--work-dir", str(repo["work"])]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_mapbench("ci", *args, *where, cwd=Path(repo["out"]))

    return run


def _ci(
    repo: dict[str, Path | str], run_ci: RunCi, base: str, head: str, out: str
) -> tuple[int, str, Path]:
    output = Path(repo["out"]) / out
    done = run_ci(base, head, *CI_ARGS, "-o", str(output))
    assert done.returncode in (0, 1, 4), done.stderr
    return done.returncode, done.stdout, output


@pytest.mark.usefixtures("loaded")
def test_a_slower_map_fails_the_build_under_load_and_is_named(
    repo: dict[str, Path | str], run_ci: RunCi
) -> None:
    status, stdout, out = _ci(repo, run_ci, "HEAD~2", "HEAD~1", "slow")
    assert status == 1, stdout
    summary = (out / "summary.md").read_text()
    line = next(line for line in summary.splitlines() if line.startswith("| 🔴"))
    assert "sharded · lookup-hit" in line and "CPU time" in line
    # before -> after in readable units, then the change and its interval, above no change
    assert re.search(r"\d[\d.]* [nµ]s → \d[\d.]* [nµ]s", line), line
    # the change, then its interval (its [ escaped) starting with + or a minus sign
    change = re.search(r"\| \+(\d+(?:\.\d+)?)% \\\[([+\u2212])\d", line)
    assert change and float(change.group(1)) >= 20, line  # ~50% more work, 10% threshold
    # The time interval excludes no change, or time was too noisy and instructions judged.
    assert change.group(2) == "+" or "judged on instructions" in line, line
    assert "dict · lookup-hit" not in "".join(ln for ln in summary.splitlines() if "🔴" in ln)
    report = (out / "report.html").read_text()
    assert "sharded" in report and "lookup-hit" in report and f"+{change.group(1)}%" in report
    assert (out / "site" / "index.html").is_file()
    assert list((out / "results" / "head").glob("metrics-*.json"))
    # The site publishes the report and the two results files ci wrote, nothing else.
    published = sorted(str(p.relative_to(out / "site")) for p in (out / "site").rglob("*"))
    written = sorted(str(p.relative_to(out)) for p in (out / "results").rglob("*.json"))
    assert [p for p in published if p.endswith((".json", ".html"))] == sorted(
        ["index.html", *written]
    )


@pytest.mark.usefixtures("loaded")
def test_a_commit_that_changes_nothing_is_not_flagged_under_load(
    repo: dict[str, Path | str], run_ci: RunCi
) -> None:
    status, stdout, out = _ci(repo, run_ci, "HEAD~1", "HEAD", "noop")
    assert status in (0, 4), stdout  # 4: a row too noisy to judge, never a regression
    summary = (out / "summary.md").read_text()
    assert "No regression" in summary
    assert "🔴 0 regression" in summary


def test_a_bad_revision_is_one_line_and_status_2(run_ci: RunCi) -> None:
    done = run_ci("no-such-branch", "HEAD")
    assert done.returncode == 2
    assert "no-such-branch" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.tools
def test_asv_runs_both_commits_and_its_site_is_published(
    repo: dict[str, Path | str], run_ci: RunCi, git: Git
) -> None:
    """`--asv`: asv's CI subset (one map keeps it short) for both commits, its site in site/asv."""
    output = Path(repo["out"]) / "asv"
    done = run_ci(
        *("HEAD~1", "HEAD", "--asv", "--asv-bench", r"^ci\..*\('dict'", "-o", str(output)),
        *("--map", "dict", "--workload", "lookup-hit", "--key-kind", "random-int"),
        *("--size", "1000", "--rounds", "4", "--reps", "2"),
    )
    assert done.returncode in (0, 1), done.stderr
    site = output / "site" / "asv"
    assert (site / "index.html").is_file()
    graphs = {p.stem for p in (site / "graphs").rglob("*.json")}
    assert "ci.TimeWorkloads.time_run" in graphs, sorted(graphs)
    commits = {git(Path(repo["repo"]), "rev-parse", rev) for rev in ("HEAD~1", "HEAD")}
    results = list((Path(repo["repo"]) / ".asv" / "results").rglob("*.json"))
    assert commits <= {json.loads(p.read_text()).get("commit_hash") for p in results}
