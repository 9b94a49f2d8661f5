"""Hostile inputs (issue 28): each refused with one line naming the file and the cause, exit 2,
no traceback, no foreign file read, nothing hanging. The corpus is tests/hostile_corpus.py;
scripts/hostile_inputs.py measures the peak memory of the same runs."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
from pathlib import Path

import duckdb
import hostile_corpus
import pytest

from mapbench.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def mapbench(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in this process, failing (not hanging) after 60 s: a FIFO used to hang it."""

    def hung(signum: int, frame: object) -> None:
        raise AssertionError(f"mapbench {' '.join(args)} hung")

    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(args))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def assert_refused(done: subprocess.CompletedProcess[str], names: str, cause: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "SECRET-TOKEN" not in done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("mapbench: warning")]
    assert warnings and all(names in line for line in warnings), done.stderr
    assert any(cause in line for line in warnings), done.stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    where = tmp_path_factory.mktemp("hostile")
    return where, hostile_corpus.build(where, big=False)


CASES = [
    "symlink",
    "dev-zero",
    "fifo",
    "deep",
    "deep-object",
    "huge-int",
    "inf",
    "asv-explosion",
    "dense-values",
    "pyperf-huge-int",
]


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_results_directory_is_refused_in_one_line_per_file(
    corpus: tuple[Path, dict[str, str]], name: str, tmp_path: Path
) -> None:
    where, causes = corpus
    done = mapbench("report", str(where / name), "-o", str(tmp_path / "r.html"))
    assert_refused(done, str(where / name), causes[name])
    assert not (tmp_path / "r.html").exists()


def test_an_asv_machine_json_linked_out_of_the_directory_is_not_read(
    corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    where, _ = corpus
    out = tmp_path / "r.html"
    done = mapbench("report", str(where / "asv-machine-symlink"), "-o", str(out))
    assert done.returncode == 0, done.stderr  # the results load; only machine.json is refused
    assert "machine.json: a symbolic link out of" in done.stderr
    assert "SECRET-TOKEN" not in out.read_text()


def test_links_inside_the_directory_are_read(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(FIXTURES / "runs" / "base", results / "real")
    os.symlink(results / "real" / "metrics-3.11.7.json", results / "linked.json")
    done = mapbench("report", str(results), "-o", str(tmp_path / "r.html"))
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr


def test_a_fifo_or_device_given_directly_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.json")
    for given in (str(tmp_path / "f.json"), "/dev/zero"):
        done = mapbench("report", given, "-o", str(tmp_path / "r.html"))
        assert_refused(done, given, "not a regular file")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("stores")
    good = where / "good.duckdb"
    done = mapbench("history", "--store", str(good), str(FIXTURES / "runs" / "base"))
    assert done.returncode == 0, done.stderr
    (where / "truncated.duckdb").write_bytes(good.read_bytes()[:300_000])
    (where / "text.duckdb").write_text("not a store\n")
    for name, sql in [
        ("groups", "UPDATE rows SET groups = 'x y'"),
        ("meta", "UPDATE meta SET value = 'abc' WHERE key = 'version'"),
        ("environment", "UPDATE environments SET environment = '{bad'"),
    ]:
        shutil.copy(good, where / f"{name}.duckdb")
        db = duckdb.connect(str(where / f"{name}.duckdb"))
        db.execute(sql)
        db.close()
    return where


@pytest.mark.parametrize("name", ["truncated", "text", "groups", "meta", "environment"])
@pytest.mark.parametrize("command", ["history", "report"])
def test_a_damaged_store_or_a_non_store_is_one_line_and_exit_2(
    stores: Path, name: str, command: str, tmp_path: Path
) -> None:
    store = str(stores / f"{name}.duckdb")
    args = [command, store] + (["-o", str(tmp_path / "r.html")] if command == "report" else [])
    done = mapbench(*args)
    assert "Traceback" not in done.stderr
    if command == "history" and name in ("groups", "environment"):
        assert done.returncode == 0, done.stderr  # history reads neither column: no damage seen
        return
    assert done.returncode == 2, (done.stdout, done.stderr)
    error = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(error) == 1 and store in error[0], done.stderr
