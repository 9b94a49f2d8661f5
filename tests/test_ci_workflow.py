"""The GitHub Actions workflow is valid YAML and runs only commands that the tests also run.

- `mapbench ci BASE HEAD ...`: the end-to-end tests in test_ci_e2e.py run it;
- the asv commands: exactly `mapbench.ci.asv_site.commands()` (revision NEW), the function that
  `mapbench ci --asv` executes (test_ci_asv.py);
- `python -m pip install .[extras]`: installing this project, as .ci/run and nox do.
"""

from __future__ import annotations

import shlex
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
    assert set(workflow["jobs"]) == {"compare", "publish"}
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
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert uses["actions/upload-artifact"]["with"]["path"] == "ci-report/"
    assert uses["actions/upload-artifact"]["if"] == "always()"
    comment = uses["marocchino/sticky-pull-request-comment"]
    assert comment["with"]["path"] == "ci-report/summary.md"
    assert job["permissions"]["pull-requests"] == "write"


def test_main_runs_exactly_the_asv_commands_mapbench_ci_runs(workflow: dict[str, Any]) -> None:
    steps = _steps(workflow, "publish")
    asv = [c for c in _commands(steps) if c[0] == "asv"]
    assert asv == commands(["NEW"], "site", python=_python(steps))
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "site"
    assert "actions/deploy-pages" in uses
    assert uses["actions/cache"]["with"]["path"] == ".asv/results"


def test_every_command_is_one_the_tests_run(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"]:
        for cmd in _commands(_steps(workflow, job)):
            if cmd[:2] == ["mapbench", "ci"] or cmd[0] == "asv":
                continue  # checked against what the tests run, above
            assert cmd[:4] == ["python", "-m", "pip", "install"], cmd
            assert all(arg.startswith(".[") or arg == "." for arg in cmd[4:]), cmd
