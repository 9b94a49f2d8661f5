"""mapbench in a map author's repository, the fast parts: what a side names, bad input (one
line naming the side, exit 2, before anything is built), [tool.mapbench], `mapbench init`, the
generated workflow's hardening and the composite action (tests/test_your_project_e2e.py
measures)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from toymaps_project import FILES, GIT, commit, git, write

from mapbench.git import GitError
from mapbench.project import ConfigError, read_config
from mapbench.project_files import ACTIONS, WORKFLOW_FILE
from mapbench.sources import SourceError, parse_source

ROOT = Path(__file__).resolve().parents[1]
PINNED = re.compile(r"^actions/[a-z-]+@[0-9a-f]{40}$")


def _mapbench(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mapbench", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """toymaps with two commits."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, FILES)
    commit(repo, 1, "toymaps")
    (repo / "README.md").write_text("changed\n")
    commit(repo, 2, "docs")
    return repo


def test_a_side_is_a_commit_a_requirement_a_package_file_or_a_directory(
    repo: Path, tmp_path: Path
) -> None:
    head = parse_source("HEAD~1", repo)
    assert head.kind == "commit" and head.commit == git(repo, "rev-parse", "HEAD~1")
    assert head.label == head.commit[:12]
    assert parse_source("cachetools==5.5.2", repo).kind == "requirement"
    assert parse_source("toymaps[fast] >= 1.0", repo).kind == "requirement"
    wheel = tmp_path / "toymaps-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    found = parse_source(str(wheel), repo)
    assert (found.kind, found.identity) == ("file", hashlib.sha256(wheel.read_bytes()).hexdigest())
    directory = parse_source(str(repo), repo)
    assert directory.kind == "directory"
    (repo / "README.md").write_text("edited again\n")  # a directory is identified by its files
    assert parse_source(str(repo), repo).identity != directory.identity
    local = parse_source(f"toymaps @ file://{wheel}", repo)
    assert local.kind == "requirement" and found.identity in local.identity
    with pytest.raises(SourceError, match="no such file"):
        parse_source(f"toymaps @ file://{tmp_path}/missing.whl", repo)
    with pytest.raises(SourceError, match="not a wheel or sdist"):
        parse_source(str(repo / "README.md"), repo)
    with pytest.raises(GitError, match="'v9' is not a commit"):
        parse_source("v9", repo)


def _error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("mapbench ci: error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[-1]


def test_bad_sides_are_one_line_naming_the_side_before_anything_is_built(
    repo: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    common = ("--repo", str(repo), "--work-dir", str(work), "-o", str(tmp_path / "out"))
    line = _error_line(_mapbench(tmp_path, "ci", "v0.9", "HEAD", *common))
    assert "base 'v0.9'" in line and "is not a commit" in line
    (repo / "toymaps" / "pymap.py").write_text("# edited, not committed\n")
    line = _error_line(_mapbench(tmp_path, "ci", "HEAD~1", "HEAD", *common))
    assert "head 'HEAD'" in line and "uncommitted changes" in line and "pymap.py" in line
    shallow = tmp_path / "shallow"
    subprocess.run(
        [*GIT, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True
    )
    args = ("ci", "HEAD~1", "HEAD", "--repo", str(shallow), "--work-dir", str(work))
    line = _error_line(_mapbench(tmp_path, *args))
    assert "base 'HEAD~1'" in line and "shallow clone" in line
    line = _error_line(_mapbench(tmp_path, "ci", "HEAD~1", str(tmp_path / "x.whl"), *common))
    assert "head" in line and "is not a commit" in line  # a path that does not exist
    assert not work.exists()  # nothing was built
    assert not (tmp_path / "out").exists()  # nor written


def test_the_project_table_names_maps_and_cases_or_says_what_is_wrong(tmp_path: Path) -> None:
    assert read_config(tmp_path).maps == ()  # no pyproject.toml: nothing configured
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.mapbench]\nmaps = ["toymaps:PyMap"]\nworkloads = ["insert"]\nsizes = [100]\n'
    )
    config = read_config(tmp_path)
    assert (config.maps, config.workloads, config.sizes) == (
        ("toymaps:PyMap",),
        ("insert",),
        (100,),
    )
    for bad, message in (
        ('maps = "toymaps:PyMap"', "maps must be a list"),
        ('workloads = ["insrt"]', "unknown 'insrt'"),
        ("sizes = [0]", "positive integers"),
        ("colour = 1", "no key 'colour'"),
    ):
        pyproject.write_text(f"[tool.mapbench]\n{bad}\n")
        with pytest.raises(ConfigError, match=re.escape(message)):
            read_config(tmp_path)


def test_init_writes_the_project_files_and_refuses_to_overwrite_them(repo: Path) -> None:
    args = ("init", "--map", "toymaps:PyMap", "--map", "toymaps:CMap", "--size", "1000")
    done = _mapbench(repo, *args)
    assert done.returncode == 0, done.stderr
    written = ["asv.conf.json", "benchmarks/mapbench_suites.py", WORKFLOW_FILE]
    for name in [*written, "benchmarks/__init__.py"]:
        assert (repo / name).is_file() and f"wrote {repo / name}" in done.stdout
    assert "wrote [tool.mapbench]" in done.stdout
    config = read_config(repo)
    assert config.maps == ("toymaps:PyMap", "toymaps:CMap") and config.sizes == (1000,)
    before = {name: (repo / name).read_text() for name in [*written, "pyproject.toml"]}
    again = _mapbench(repo, "init", "--map", "toymaps:PyMap")
    assert again.returncode == 2 and "nothing written (--force overwrites)" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert {name: (repo / name).read_text() for name in before} == before
    forced = _mapbench(repo, "init", "--map", "toymaps:PyMap", "--force")
    assert forced.returncode == 0, forced.stderr
    text = (repo / "pyproject.toml").read_text()
    assert text.count("[tool.mapbench]") == 1 and read_config(repo).maps == ("toymaps:PyMap",)
    assert text.startswith(before["pyproject.toml"].split("[tool.mapbench]")[0].rstrip())


def test_init_takes_the_maps_from_the_projects_entry_points(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "lrumaps"\n\n[project.entry-points."mapbench.impls"]\n'
        'lru = "lrumaps:LRU"\nfifo = "lrumaps:FIFO"\n'
    )
    done = _mapbench(tmp_path, "init")
    assert done.returncode == 0, done.stderr
    assert read_config(tmp_path).maps == ("fifo", "lru")
    assert '"project": "lrumaps"' in (tmp_path / "asv.conf.json").read_text()
    nothing = tmp_path / "empty"
    nothing.mkdir()
    (nothing / "pyproject.toml").write_text('[project]\nname = "x"\n')
    done = _mapbench(nothing, "init")
    assert done.returncode == 2 and "name the project's maps" in done.stderr


def _uses(steps: list[dict[str, Any]]) -> list[str]:
    return [str(step["uses"]) for step in steps if "uses" in step]


def _no_expression_in_scripts(steps: list[dict[str, Any]]) -> None:
    # Inputs and event fields reach a shell through env:, never pasted into the script.
    for step in steps:
        assert "${{" not in str(step.get("run", "")), step


def test_the_generated_workflow_runs_pull_requests_without_write_access(repo: Path) -> None:
    assert _mapbench(repo, "init", "--map", "toymaps:PyMap").returncode == 0
    jobs = yaml.safe_load((repo / WORKFLOW_FILE).read_text())["jobs"]
    compare, comment, publish = jobs["compare"], jobs["comment"], jobs["publish"]
    assert compare["permissions"] == {"contents": "read"}
    assert comment["permissions"] == {"pull-requests": "write"}
    # The commenting job checks nothing out and runs no code of the pull request.
    assert [u.split("@")[0] for u in _uses(comment["steps"])] == ["actions/download-artifact"]
    for job in (compare, publish):
        checkout = next(s for s in job["steps"] if "checkout" in s.get("uses", ""))
        assert checkout["with"]["persist-credentials"] is False
        assert checkout["with"]["fetch-depth"] == 0
    for job in jobs.values():
        _no_expression_in_scripts(job["steps"])
        for used in _uses(job["steps"]):
            assert PINNED.match(used), used
    assert {u.split("  #")[0] for u in ACTIONS.values()} >= {
        u for job in jobs.values() for u in _uses(job["steps"])
    }
    runs = [s["run"] for s in compare["steps"] if "run" in s]
    assert 'mapbench ci "$BASE" HEAD --output ci-report' in runs


def test_the_action_takes_base_head_maps_threshold_and_gives_the_verdict_and_paths() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) >= {"base", "head", "maps", "threshold"}
    assert set(action["outputs"]) >= {"verdict", "report", "summary", "site"}
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    _no_expression_in_scripts(steps)
    for used in _uses(steps):
        assert PINNED.match(used), used


def test_ci_and_bisect_default_to_the_project_table(repo: Path) -> None:
    from mapbench.commands.ci import cases_from

    (repo / "pyproject.toml").write_text(
        (repo / "pyproject.toml").read_text()
        + '\n[tool.mapbench]\nmaps = ["toymaps:CMap"]\nworkloads = ["lookup-hit"]\n'
    )
    from argparse import Namespace

    args = Namespace(
        repo=repo, maps=None, workloads=None, key_kinds=None, value_kinds=None, sizes=None
    )
    assert {(c.map, c.workload) for c in cases_from(args)} == {("toymaps:CMap", "lookup-hit")}
    args.maps = ["dict"]
    assert {c.map for c in cases_from(args)} == {"dict"}


def test_the_actions_script_reports_the_verdict_and_paths(repo: Path, tmp_path: Path) -> None:
    """The action's measuring step as GitHub runs it: inputs in the environment, outputs in
    $GITHUB_OUTPUT; a side that is no commit ends as verdict `error`, with mapbench's status."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    script = next(s for s in action["runs"]["steps"] if s.get("id") == "ci")["run"]
    outputs = tmp_path / "github-output"
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "BASE": "v0.9; touch pwned",  # an input is data, never code
        "HEAD": "HEAD",
        "MAPS": "toymaps:PyMap\ntoymaps:CMap\n",
        "THRESHOLD": "0.05",
        "OUTPUT": str(tmp_path / "report"),
        "GITHUB_OUTPUT": str(outputs),
    }
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert "base 'v0.9; touch pwned'" in done.stderr and not (repo / "pwned").exists()
    said = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert said == {
        "verdict": "error",
        "report": f"{tmp_path}/report/report.html",
        "summary": f"{tmp_path}/report/summary.md",
        "site": f"{tmp_path}/report/site",
    }


MY_MAP = '''
class PyMap:
    """A dict-backed map in Python."""

    def __init__(self):
        self._items = {}

    def __getitem__(self, key):
        return self._items[key]

    def __setitem__(self, key, value):
        self._items[key] = value

    def __delitem__(self, key):
        del self._items[key]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)
'''


def test_the_generated_asv_suites_measure_the_tables_maps_and_skip_what_they_lack(
    tmp_path: Path,
) -> None:
    from mapbench.asv_suites import suites
    from mapbench.project_files import suites_module

    (tmp_path / "mymap.py").write_text(MY_MAP)
    spec = f"{tmp_path}/mymap.py:PyMap"
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.mapbench]\nmaps = ["{spec}"]\nworkloads = ["insert"]\nsizes = [200]\n'
    )
    benchmarks = tmp_path / "benchmarks"
    benchmarks.mkdir()
    (benchmarks / "__init__.py").write_text("")
    (benchmarks / "mapbench_suites.py").write_text(suites_module())
    out = tmp_path / "benchmarks.json"
    subprocess.run(
        [sys.executable, "-m", "asv.benchmark", "discover", str(benchmarks), str(out)],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=True,
    )
    names = {b["name"] for b in json.loads(out.read_text())}
    assert "mapbench_suites.TimeWorkloads.time_run" in names
    assert "mapbench_suites.Allocations.track_alloc_net_bytes" in names
    classes = suites(str(benchmarks / "mapbench_suites.py"))
    params = (spec, "insert", "random-int", 200)
    timed = classes["TimeWorkloads"]()
    timed.setup(*params)
    timed.time_run(*params)
    allocations = classes["Allocations"]()
    allocations.setup(*params)
    assert allocations.track_alloc_net_bytes(*params) > 0
    with pytest.raises(NotImplementedError, match="probe"):  # asv: skipped, not failed
        classes["ProbeLengths"]().setup(*params)
