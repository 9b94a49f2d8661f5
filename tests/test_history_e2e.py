"""End to end: a 16-commit repository where commit 6 slows `sharded` and commit 11 changes
c-linear's probe lengths; `mapbench bisect` finds commit 11 in <= 5 builds, and `mapbench history`
on the 16 commits' results reports both changes at the right commits.

Commit 1 is the checkout; every later commit changes a file, 6 adds a spin loop to
ShardedMap.__getitem__ (about 2x slower lookups, far past the bimodal noise of these machines),
11 raises c-linear's default max_load from 0.75 to 0.9 (Python only: 1,700 keys then fill 2,048
slots instead of 4,096, so hit probe lengths change exactly). Each commit is built once (`mapbench
ci`'s cached venvs); its results are `mapbench ci`'s own: per-process fastest times from worker
processes interleaved across all commits, and the exact-metrics pass.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mapbench.builder import build_environment
from mapbench.case import CaseId
from mapbench.ci.interleave import EXACT_COLLECTORS, Runner, Side
from mapbench.measure.timing import across_processes
from mapbench.schema import CaseResult, Measurement, MetricsFile, encode
from mapbench.sources import Source

pytestmark = pytest.mark.slow

COMMITS = 16
SLOW_AT, PROBES_AT = 6, 11
SHARDED = CaseId("sharded", "lookup-hit", "random-int", 2000)
LINEAR = CaseId("c-linear", "insert", "random-int", 1700)
ROUNDS = 4  # worker processes per commit for time; the per-commit point is their fastest end
SPIN = "        for _ in range(80):\n            pass\n"  # about +1.3 µs on a 1.3 µs lookup
LINEAR_DEFAULT = '"linear": functools.partial(_open_addressing, "linear"),'
LINEAR_CHANGED = '"linear": functools.partial(_open_addressing, "linear", max_load=0.9),'


def _dated(n: int) -> dict[str, str]:
    """Commit n's author and committer dates: a day apart, in commit order."""
    date = f"2026-01-{n:02d}T12:00:00+00:00"
    return {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}


@pytest.fixture(scope="module")
def repo(
    tmp_path_factory: pytest.TempPathFactory,
    git: Callable[..., str],
    checkout_repo: Callable[..., Path],
) -> dict[str, Path | list[str]]:
    root = tmp_path_factory.mktemp("history-e2e")
    repo = checkout_repo(root, "commit 1: the checkout", _dated(1))
    for n in range(2, COMMITS + 1):
        (repo / "history-step.txt").write_text(f"step {n}\n")
        if n == SLOW_AT:
            sharded = repo / "impls" / "sharded.py"
            head = "    def __getitem__(self, key: Any) -> Any:\n"
            text = sharded.read_text()
            assert head in text, "the injection point moved"
            sharded.write_text(text.replace(head, head + SPIN, 1))
        if n == PROBES_AT:
            cmaps = repo / "impls" / "cmaps.py"
            text = cmaps.read_text()
            assert LINEAR_DEFAULT in text, "c-linear's factory moved"
            cmaps.write_text(text.replace(LINEAR_DEFAULT, LINEAR_CHANGED))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"commit {n}", env=_dated(n))
    commits = git(repo, "rev-list", "--reverse", "HEAD").split()
    assert len(commits) == COMMITS
    return {"repo": repo, "work": root / "work", "root": root, "commits": commits}


RunMapbench = Callable[..., "subprocess.CompletedProcess[str]"]  # the conftest fixture


def test_bisect_finds_the_probe_length_change_in_five_builds(
    repo: dict, run_mapbench: RunMapbench
) -> None:
    commits, root = repo["commits"], repo["root"]
    done = run_mapbench(
        *("bisect", commits[0], commits[-1], "--metric", "probe_hit_mean"),
        *("--map", "c-linear", "--workload", "insert", "--key-kind", "random-int"),
        *("--size", "1700", "--repo", str(repo["repo"]), "--work-dir", str(repo["work"])),
        *("-o", str(root / "bisect"), "--json"),
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["first_bad"] == commits[PROBES_AT - 1]
    assert outcome["subject"] == f"commit {PROBES_AT}"
    assert outcome["last_good"] == commits[PROBES_AT - 2]
    assert outcome["builds"] <= 5
    built = list((Path(repo["work"]) / "envs").iterdir())
    assert len(built) == outcome["builds"]  # each commit tested was built once, nothing more
    bad_step = next(s for s in outcome["steps"] if s["commit"] == outcome["first_bad"])
    assert bad_step["bad"] and "probes" in bad_step["evidence"][0]


def _record(repo: dict, results: Path) -> None:
    """`mapbench ci`-style results of every commit: time from ROUNDS processes per commit,
    interleaved across the commits (alternating direction), then the exact pass."""
    sources = [Source("commit", c, c, c, repo=repo["repo"]) for c in repo["commits"]]
    builds = [build_environment([s], repo["work"]) for s in sources]
    sides = [
        Side(f"c{n}", b.python, s.commit)
        for n, (s, b) in enumerate(zip(sources, builds, strict=True), start=1)
    ]
    rounds: dict[str, dict[CaseId, list[list[Measurement]]]] = {s.name: {} for s in sides}
    exact: dict[str, dict[CaseId, list[Measurement]]] = {}
    environments: dict[str, dict] = {}
    with Runner([SHARDED, LINEAR]) as runner:
        for r in range(ROUNDS):
            for side in sides if r % 2 == 0 else sides[::-1]:
                done = runner.run(side, runner.job(side, reps=5))
                environments.setdefault(side.name, dict(done.environment))
                for result in done.results:
                    assert result.status == "ok", result.error
                    rounds[side.name].setdefault(result.case, []).append(list(result.metrics))
        for side in sides:
            done = runner.run(side, runner.job(side, collectors=EXACT_COLLECTORS))
            exact[side.name] = {res.case: list(res.metrics) for res in done.results}
    for n, side in enumerate(sides, start=1):
        cases = []
        for case in (SHARDED, LINEAR):
            times = [m for m in (across_processes(rounds[side.name][case], "time"),) if m]
            kept = [m for m in exact[side.name][case] if m.kind == "deterministic"]
            cases.append(CaseResult.of(case, metrics=(*times, *kept)))
        env = {**environments[side.name], "commit": side.commit}
        env["commit_date"] = f"2026-01-{n:02d}T12:00:00+00:00"
        directory = results / f"commit-{n:02d}"
        directory.mkdir(parents=True)
        document = MetricsFile(environment=env, results=tuple(cases))
        (directory / "metrics.json").write_bytes(encode(document))


def test_history_reports_both_changes_at_the_right_commits(
    repo: dict, run_mapbench: RunMapbench
) -> None:
    results = Path(repo["root"]) / "results"
    _record(repo, results)
    store = Path(repo["root"]) / "history.duckdb"
    args = ("history", "--store", str(store), str(results), "--repo", str(repo["repo"]), "--json")
    done = run_mapbench(*args, cwd=Path(repo["root"]))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    commits = repo["commits"]
    probes = [c for c in found if c["metric"] == "probe_hit_mean"]
    assert [(c["map"], c["commit"]) for c in probes] == [("c-linear", commits[PROBES_AT - 1])]
    assert probes[0]["commit_before"] == commits[PROBES_AT - 2]
    assert probes[0]["commits_between"] == 1 and probes[0]["subject"] == f"commit {PROBES_AT}"
    assert probes[0]["magnitude"] > 1.5 and probes[0]["low"] == probes[0]["high"]
    slow = [c for c in found if c["metric"] == "time" and c["map"] == "sharded"]
    assert [c["commit"] for c in slow] == [commits[SLOW_AT - 1]], slow
    assert slow[0]["magnitude"] >= 1.3 and slow[0]["low"] > 1.2  # >= 30% slower, interval clear
    # Ingesting the same results again changes nothing.
    again = run_mapbench(*args, cwd=Path(repo["root"]))
    assert json.loads(again.stdout) == found
    assert "0 new files" in again.stderr
