"""The GitHub Actions workflow is valid YAML and runs only commands that the tests also run.

- `mapbench ci BASE HEAD ...`: the end-to-end tests in test_ci_e2e.py run it;
- the asv commands: exactly `mapbench.ci.asv_site.commands()` (revision NEW), the function that
  `mapbench ci --asv` executes (test_ci_e2e.py, its `--asv` test);
- `mapbench run --quick --shard K/N -o DIR`: test_history_shards.py runs the quick suite so;
- `mapbench history --store ...` and `mapbench report STORE`: test_history_cli.py;
- `python -m pip install .[extras]`: installing this project, as .ci/run and nox do;
- the comment job's script: run here on hostile summaries (test_the_comment_job_...).

And the threat model of docs/ci.md: the job that runs a pull request's code has a read-only
token and no credentials in its clone; the job that can write runs none of it and reads only the
summary artifact; every action is first-party (`actions/*`).
"""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mapbench.ci.asv_site import commands

yaml = pytest.importorskip("yaml")

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "mapbench.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


def _steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return steps


def _commands(steps: list[dict[str, Any]]) -> list[list[str]]:
    return [shlex.split(line) for s in steps if "run" in s for line in s["run"].splitlines()]


def _python(steps: list[dict[str, Any]]) -> str:
    return str(
        next(s["with"]["python-version"] for s in steps if "setup-python" in s.get("uses", ""))
    )


def test_triggers_and_jobs(workflow: dict[str, Any]) -> None:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    assert set(workflow["jobs"]) == {"compare", "comment", "publish", "suite", "merge"}
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        assert all(("run" in s) != ("uses" in s) for s in job["steps"])


def test_pull_requests_compare_with_the_base_and_report(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["compare"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert job["env"]["BASE"] == "${{ github.event.pull_request.base.sha }}"
    steps = _steps(workflow, "compare")
    assert steps[0]["with"]["fetch-depth"] == 0  # both commits must be in the clone
    ci = [c for c in _commands(steps) if c[0] == "mapbench"]
    assert ci == [["mapbench", "ci", "$BASE", "HEAD", "--output", "ci-report"]]
    uploads = {s["with"]["name"]: s for s in steps if "upload-artifact" in s.get("uses", "")}
    assert uploads["mapbench-report"]["with"]["path"] == "ci-report/"
    assert uploads["mapbench-summary"]["with"]["path"] == "ci-report/summary.md"
    assert all(u["if"] == "always()" for u in uploads.values())
    # It runs the pull request's code: a read-only token, and none left in the clone.
    assert job["permissions"] == {"contents": "read"}
    assert steps[0]["with"]["persist-credentials"] is False


def test_the_comment_job_runs_no_pull_request_code_and_neutralises_the_summary(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    job = workflow["jobs"]["comment"]
    assert job["needs"] == "compare" and "pull_request" in job["if"]
    assert job["permissions"] == {"pull-requests": "write"}
    steps = job["steps"]
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses == ["actions/download-artifact"]  # no checkout, no setup-python, no install
    assert steps[0]["with"]["name"] == "mapbench-summary"
    script = next(s["run"] for s in steps if s.get("shell") == "python3 {0}")
    posting = [s["run"] for s in steps if "run" in s and "shell" not in s]
    assert all(line.startswith(("id=$(gh api ", "if [ -n ")) for line in posting[0].splitlines())
    (tmp_path / "summary").mkdir()
    hostile = (
        "| 🔴 | a |\n@octocat <img src=https://x/p.gif> ![t](https://x/p.gif) [click](https://x)"
        "\n<script>alert(1)</script> <sub>kept</sub>" + "x" * 70_000
    )
    (tmp_path / "summary" / "summary.md").write_text(hostile)
    (tmp_path / "s.py").write_text(script)
    subprocess.run([sys.executable, "s.py"], cwd=tmp_path, check=True)
    body = (tmp_path / "comment.md").read_text()
    assert body.startswith("<!-- mapbench -->\n| 🔴 | a |") and len(body) < 61_000
    for live in ("@", "<img", "<script", "![", "]("):
        assert live not in body, live
    assert "<sub>kept</sub>" in body


def test_every_action_is_first_party_and_no_clone_keeps_credentials(
    workflow: dict[str, Any],
) -> None:
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                action, _, ref = step["uses"].partition("@")
                # Third-party actions would have to be pinned to a commit (40 hex digits).
                assert action.startswith("actions/") or re.fullmatch("[0-9a-f]{40}", ref), step
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False, name
        writes = {k for k, v in job.get("permissions", {}).items() if v == "write"}
        # Only the comment job (no pull request code) and the push-only publish job write.
        assert not writes or name in ("comment", "publish"), (name, writes)
        if writes and name == "publish":
            assert job["if"] == "github.event_name == 'push'"


def test_main_runs_exactly_the_asv_commands_mapbench_ci_runs(workflow: dict[str, Any]) -> None:
    steps = _steps(workflow, "publish")
    asv = [c for c in _commands(steps) if c[0] == "asv"]
    assert asv == commands(["NEW"], "site", python=_python(steps))
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "site"
    assert "actions/deploy-pages" in uses
    assert uses["actions/cache"]["with"]["path"] == ".asv/results"


def _expanded(text: str, entry: dict[str, Any]) -> str:
    """`text` with every `${{ matrix.X }}` replaced by the entry's value."""
    return re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(entry[m.group(1)]), text)


def test_main_runs_the_suite_as_a_matrix_of_pythons_and_shards(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["suite"]
    assert job["if"] == "github.event_name == 'push'"
    matrix = job["strategy"]["matrix"]
    assert matrix["python"] == ["3.10", "3.11", "3.12", "3.13"]
    assert job["strategy"]["fail-fast"] is False  # one failing shard must not cancel the rest
    entries = [
        dict(zip(matrix, values, strict=True)) for values in itertools.product(*matrix.values())
    ]
    runs = [
        shlex.split(_expanded(line, e))
        for e in entries
        for line in (s["run"] for s in job["steps"] if "run" in s)
        if line.startswith("mapbench")
    ]
    assert len(runs) == len(entries)
    shards = {tuple(r[r.index("--shard") + 1].split("/")) for r in runs}
    count = len(matrix["shard"])
    assert shards == {(str(k), str(count)) for k in range(1, count + 1)}  # every shard, once
    for r in runs:
        assert r[:3] == ["mapbench", "run", "--quick"] and r[-2] == "-o"
    assert len({r[-1] for r in runs}) == len(entries)  # one results directory per entry
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-art"))
    names = {_expanded(upload["with"]["name"], e) for e in entries}
    assert len(names) == len(entries) and all(n.startswith("results-") for n in names)
    assert upload["if"] == "always()"  # a shard with a failed case still delivers its results


def test_the_merge_job_builds_one_report_and_the_history(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["merge"]
    assert job["needs"] == "suite" and "always()" in job["if"]
    steps = _steps(workflow, "merge")
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    download = uses["actions/download-artifact"]["with"]
    assert download["pattern"] == "results-*" and download["path"] == "results/"
    assert uses["actions/cache"]["with"]["path"] == "history.duckdb"
    commands = [c for c in _commands(steps) if c[0] == "mapbench"]
    assert ["mapbench", "history", "--store", "history.duckdb", "results", "--repo", "."] in (
        commands
    )
    reports = [c for c in commands if c[1] == "report"]
    assert [c[2] for c in reports] == ["results", "history.duckdb"]
    assert steps[0]["with"]["fetch-depth"] == 0  # --repo reads the commit order


def test_every_command_is_one_the_tests_run(workflow: dict[str, Any]) -> None:
    for job in set(workflow["jobs"]) - {"comment"}:  # (its script is run above)
        for cmd in _commands(_steps(workflow, job)):
            if cmd[0] == "asv" or cmd[:2] in (
                ["mapbench", "ci"], ["mapbench", "run"], ["mapbench", "history"],
                ["mapbench", "report"],
            ):  # fmt: skip
                continue  # checked against what the tests run, above
            assert cmd[:4] == ["python", "-m", "pip", "install"], cmd
            assert all(arg.startswith(".[") or arg == "." for arg in cmd[4:]), cmd
