"""`mapbench history`, `mapbench report STORE` and `mapbench bisect`'s input errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mapbench.case import CaseId
from mapbench.catalog import measurement
from mapbench.cli import COMMANDS, main
from mapbench.schema import CaseResult, MetricsFile, encode

FIXTURES = Path(__file__).parent / "fixtures"


def _history(root: Path, commits: int = 8, step_at: int = 5) -> Path:
    """`commits` metrics files of one case whose probe_hit_mean changes at commit `step_at`."""
    for n in range(1, commits + 1):
        env = {
            "python": "3.12.1",
            "machine": "m",
            "commit": f"{n:040x}",
            "commit_date": f"2026-01-{n:02d}T00:00:00+00:00",
            "timestamp": f"2026-01-{n:02d}T01:00:00+00:00",
        }
        value = 2.0 if n >= step_at else 1.5
        result = CaseResult.of(
            CaseId("c-linear", "insert", "random-int", 1700),
            metrics=(measurement("probe_hit_mean", value),),
        )
        path = root / f"{n:02d}" / "metrics-3.12.json"
        path.parent.mkdir(parents=True)
        path.write_bytes(encode(MetricsFile(environment=env, results=(result,))))
    return root


def test_commands_are_registered_after_ci() -> None:
    names = [c.name for c in COMMANDS]
    assert names.index("history") == names.index("ci") + 1
    assert names.index("bisect") == names.index("history") + 1


def test_history_of_results_directories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _history(tmp_path / "results")
    assert main(["history", str(results), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [(f["map"], f["metric"], f["commit"]) for f in found] == [
        ("c-linear", "probe_hit_mean", f"{5:040x}")
    ]
    assert found[0]["commit_before"] == f"{4:040x}" and found[0]["magnitude"] == pytest.approx(
        4 / 3
    )
    assert main(["history", str(results)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("1 change points") and "+33.3%" in table and "1.5 probes" in table


def test_history_through_a_store_and_report_from_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _history(tmp_path / "results")
    store = tmp_path / "history.duckdb"
    assert main(["history", "--store", str(store), str(results), "--json"]) == 0
    captured = capsys.readouterr()
    assert "8 new files" in captured.err
    assert len(json.loads(captured.out)) == 1
    # later: the store alone (plus the asv fixtures, mixed in freely)
    asv = FIXTURES / "asv" / "results"
    assert main(["history", str(store), str(asv), "--metric", "probe_hit_mean"]) == 0
    assert "1 change points" in capsys.readouterr().out
    report = tmp_path / "report.html"
    assert main(["report", str(store), "-o", str(report)]) == 0
    assert "8 result rows" in capsys.readouterr().out
    html = report.read_text()
    assert "c-linear" in html and "probe_hit_mean" in html
    # the report marks the change point the history found, at its commit
    assert html.count('<g class="marker">') == 1 and f"{5:040x}"[:8] in html


def test_history_without_input_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "results store" in err


def _repo(root: Path) -> tuple[Path, list[str]]:
    repo = root / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@invalid", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    for n in range(2):
        (repo / "f").write_text(str(n))
        subprocess.run([*git, "add", "f"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"c{n}"], check=True)
    out = subprocess.run([*git, "rev-list", "--reverse", "HEAD"], capture_output=True, text=True)
    return repo, out.stdout.split()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "no_such_metric"], "unknown metric"),
        (["--rounds", "1"], "--rounds"),
    ],
)
def test_bisect_bad_input_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    repo, commits = _repo(tmp_path)
    status = main(["bisect", commits[0], commits[1], "--repo", str(repo), *args])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1


def test_bisect_refuses_a_good_that_is_not_an_ancestor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, commits = _repo(tmp_path)
    status = main(["bisect", commits[1], commits[0], "--repo", str(repo)])
    err = capsys.readouterr().err
    assert status == 2 and "not an ancestor" in err
