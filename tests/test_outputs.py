"""Outputs (issue 28): `ci -o` never deletes or publishes files it did not write; a replaced
file keeps its mode; files appear whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mapbench.atomic_files import write_bytes_atomic
from mapbench.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def test_ci_into_a_directory_holding_other_files_refuses_and_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    (out / "site").mkdir(parents=True)
    (out / "results").mkdir()
    planted = [out / "site" / "old.html", out / "results" / "planted.json", out / "notes.txt"]
    for path in planted:
        path.write_text("mine")
    assert main(["ci", "HEAD~1", "HEAD", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"-o {out}: the directory is not empty" in err and len(err.splitlines()) == 1
    assert all(p.read_text() == "mine" for p in planted)


def test_a_replaced_file_keeps_its_mode_and_a_new_one_follows_the_umask(tmp_path: Path) -> None:
    private = tmp_path / "private.html"
    private.write_text("old")
    private.chmod(0o600)
    write_bytes_atomic(private, b"new")
    assert private.read_bytes() == b"new" and stat.S_IMODE(private.stat().st_mode) == 0o600
    previous = os.umask(0o027)
    try:
        write_bytes_atomic(tmp_path / "fresh.html", b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "fresh.html").stat().st_mode) == 0o640


def test_report_over_a_private_file_keeps_it_private(tmp_path: Path) -> None:
    report, summary = tmp_path / "r.html", tmp_path / "s.md"
    for path in (report, summary):
        path.write_text("old")
        path.chmod(0o600)
    runs = FIXTURES / "runs"
    status = main(
        [
            "report", str(runs), "-o", str(report), "--markdown", str(summary),
            "--base", str(runs / "base"), "--candidate", str(runs / "candidate"),
        ]
    )  # fmt: skip
    assert status == 0
    for path in (report, summary):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() != "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "s.md"]  # no leftovers
