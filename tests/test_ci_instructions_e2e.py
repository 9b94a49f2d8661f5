"""`mapbench ci --instructions` sees a change in the C code itself: a scratch commit that makes
c-linear's probing worse is flagged on the batch lookup workload, where the C table's own work
(not a ctypes call per key) is what the instructions count."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mapbench.ci import instructions
from mapbench.results import load

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not instructions.available(), reason="needs valgrind"),
]
# Home slots only at multiples of 4: keys pile into a quarter of the positions, so a linear
# probe walks the clusters this leaves (about one probe more per lookup at this load).
ANCHOR = "cursor c = {hash & t->mask, 1, 0};"
WORSE = "cursor c = {hash & t->mask & ~(uint64_t)3, 1, 0};"


def test_a_worse_probe_sequence_in_c_is_flagged_by_instruction_counts(
    tmp_path: Path,
    git: Callable[..., str],
    checkout_repo: Callable[..., Path],
    run_mapbench: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    repo = checkout_repo(tmp_path)
    source = repo / "impls" / "csrc" / "open.c"
    text = source.read_text()
    assert ANCHOR in text, "the test's injection point moved: update ANCHOR"
    source.write_text(text.replace(ANCHOR, WORSE, 1))
    git(repo, "commit", "-q", "-am", "worse home slots for open addressing")
    out = tmp_path / "out"
    case = ["--map", "c-linear", "--workload", "lookup-hit-batch", "--key-kind", "random-int"]
    done = run_mapbench(
        "ci", "HEAD~1", "HEAD", *case, "--size", "20000", "--rounds", "2", "--reps", "2",
        "--instructions", "--repo", str(repo), "--work-dir", str(tmp_path / "work"),
        "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    base, head = (load([out / "results" / side]).frame for side in ("base", "head"))

    def per_op(frame: object) -> float:
        rows = frame[frame["metric"] == "instructions"]  # type: ignore[index]
        return float(rows["value"].iloc[0])

    assert per_op(head) / per_op(base) >= 1.05
    summary = (out / "summary.md").read_text()
    assert any(
        "Instructions per operation" in line and "🔴" in line for line in summary.splitlines()
    )
