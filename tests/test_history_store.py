"""The results store: idempotent, incremental ingest; runs replaced; the same rows as the files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mapbench.case import CaseId
from mapbench.catalog import measurement
from mapbench.errors import MapbenchError
from mapbench.history import Store, ingest, is_store, load_store, open_points
from mapbench.history.commits import describe
from mapbench.results import load
from mapbench.schema import CaseResult, MetricsFile, encode

FIXTURES = Path(__file__).parent / "fixtures"
KEY = ["file", "map", "workload", "key_kind", "size", "metric", "python", "commit"]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """mapbench runs (two sides, four Pythons, pyperf too) and an asv results directory."""
    root = tmp_path / "results"
    shutil.copytree(FIXTURES / "runs", root / "runs")
    shutil.copytree(FIXTURES / "asv" / "results", root / "asv")
    return root


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def test_the_store_holds_what_the_files_hold(results: Path, tmp_path: Path) -> None:
    store = tmp_path / "h.duckdb"
    done = ingest(store, [str(results)], None)
    direct = load([results])
    assert done.rows == len(direct.frame) > 0
    assert is_store(store) and not is_store(results / "asv" / "benchmarks.json")
    held = load_store(store)
    a, b = _sorted(direct.frame), _sorted(held.frame)
    assert list(b.columns) == list(a.columns)
    for column in a.columns:
        if column == "commit_date":
            assert (a[column].fillna(pd.Timestamp(0, tz="UTC")) ==
                    b[column].fillna(pd.Timestamp(0, tz="UTC"))).all()  # fmt: skip
        elif a[column].dtype == "float64":
            pd.testing.assert_series_equal(a[column], b[column], check_names=False)
        else:
            assert a[column].astype(object).tolist() == b[column].astype(object).tolist(), column
    assert set(held.environments) == set(direct.environments)


def test_ingesting_the_same_files_twice_changes_nothing(results: Path, tmp_path: Path) -> None:
    store = tmp_path / "h.duckdb"
    first = ingest(store, [str(results)], None)
    with Store(store, read_only=True) as s:
        counts = {t: s.count(t) for t in ("rows", "samples", "runs", "files", "commits")}
    # the same files again, and a copy of them under another path
    copy = tmp_path / "copy"
    shutil.copytree(results, copy)
    again = ingest(store, [str(results), str(copy)], None)
    assert first.new_files > 0 and again.new_files == 0
    assert again.skipped_files == 2 * first.new_files and again.rows == 0
    with Store(store, read_only=True) as s:
        assert {t: s.count(t) for t in counts} == counts


def _metrics_file(path: Path, cases: int, started: str, complete: bool = True) -> None:
    env = {"python": "3.12.1", "machine": "m", "commit": "a" * 40, "timestamp": started}
    results = tuple(
        CaseResult.of(
            CaseId("dict", "insert", "random-int", 1000 * (i + 1)),
            metrics=(measurement("probe_hit_mean", 1.0 + i),),
        )
        for i in range(cases)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(MetricsFile(environment=env, results=results, complete=complete)))


def test_a_rewritten_file_of_one_run_replaces_it_and_a_new_run_adds(tmp_path: Path) -> None:
    store, file = tmp_path / "h.duckdb", tmp_path / "run" / "metrics-3.12.json"
    _metrics_file(file, 1, "2026-01-01T00:00:00", complete=False)  # a run still going
    ingest(store, [str(file)], None)
    _metrics_file(file, 3, "2026-01-01T00:00:00")  # the same run, finished
    done = ingest(store, [str(file)], None)
    assert (done.new_files, done.replaced_runs, done.rows) == (1, 1, 3)
    assert len(load_store(store).frame) == 3
    # the unfinished file again (an old copy of it): known, skipped, nothing replaced
    partial = tmp_path / "old-copy" / "metrics-3.12.json"
    _metrics_file(partial, 1, "2026-01-01T00:00:00", complete=False)
    assert ingest(store, [str(partial)], None).new_files == 0
    assert len(load_store(store).frame) == 3
    _metrics_file(tmp_path / "rerun" / "metrics-3.12.json", 2, "2026-01-02T00:00:00")
    done = ingest(store, [str(tmp_path / "rerun")], None)
    assert (done.new_files, done.replaced_runs) == (1, 0)
    assert len(load_store(store).frame) == 5  # both runs of the commit are kept


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(MapbenchError, match="not a mapbench results store"):
        Store(other)
    with pytest.raises(MapbenchError, match="not a mapbench results store"):
        load_store(other)


def test_commits_are_ordered_by_first_parent_position_even_with_equal_dates(
    tmp_path: Path, git: Callable[..., str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    same_date = {"GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00"}
    for n in range(3):
        (repo / "f").write_text(str(n))
        git(repo, "add", "f")
        git(repo, "commit", "-q", "-m", f"step {n}", env=same_date)
    commits = git(repo, "rev-list", "--reverse", "HEAD").split()
    table = describe(repo, [*reversed(commits), "f" * 40]).set_index("commit")
    assert table.loc[commits, "position"].tolist() == [0, 1, 2]
    assert table.loc[commits[2], "parents"] == commits[1]
    assert table.loc[commits[1], "subject"] == "step 1"
    assert "f" * 40 not in table.index  # a commit this clone does not have is left out
    # The store records them for the commits it holds.
    for n, commit in enumerate(commits):
        env_file = tmp_path / "r" / f"{n}" / "metrics.json"
        _metrics_file(env_file, 1, f"2026-01-0{n + 1}")
        text = env_file.read_text().replace("a" * 40, commit)
        env_file.write_text(text)
    store = tmp_path / "h.duckdb"
    ingest(store, [str(tmp_path / "r")], repo)
    points = open_points([str(store)])
    assert points.commits is not None
    held = points.commits.set_index("commit")
    assert held.loc[commits, "position"].tolist() == [0, 1, 2]
    assert held.loc[commits[0], "subject"] == "step 0"
