"""End to end: `mapbench ci` on a scratch repository flags one extra allocation per `cow` write
as "+1 alloc/op", and lets a one-off object pass (whole-run byte totals have an absolute
tolerance; per-operation counts cancel what a run allocates once)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mapbench.catalog import title
from mapbench.results import load

pytestmark = pytest.mark.slow

# Two processes per side: too few samples for a time verdict (inconclusive, never a failure),
# so the exit status is the exact metrics' alone.
CI_ARGS = [
    *("--map", "cow", "--workload", "insert", "--key-kind", "random-int", "--size", "2000"),
    *("--rounds", "2", "--reps", "1"),
]
WRITE = (
    "    def __setitem__(self, key: Any, value: Any) -> None:\n"
    "        with self._write_lock:\n"
    "            data = self._data.copy()\n"
    "            data[key] = value\n"
    "            self._data = data\n"
)
# Once per map, at its first write: a list of one key, kept (56 B and more on every Python).
# (The test allocates nothing on the other writes: `len(data) == 1` would make an int each.)
ONE_OFF = '            if "_first" not in self.__dict__:\n                self._first = [key]\n'
# Every write: a new object() replaces the last one (object() has no free list).
EXTRA = "            self._last = object()\n"


@pytest.fixture(scope="module")
def repo(
    tmp_path_factory: pytest.TempPathFactory,
    git: Callable[..., str],
    checkout_repo: Callable[..., Path],
) -> Path:
    """base; one-off (an object at each map's first write); extra (one object per write)."""
    repo = checkout_repo(tmp_path_factory.mktemp("ci-alloc"))
    cow = repo / "impls" / "cow.py"
    text = cow.read_text()
    assert text.count(WRITE) == 1, "the test's injection point moved: update WRITE"
    cow.write_text(text.replace(WRITE, WRITE + ONE_OFF))
    git(repo, "commit", "-q", "-am", "a one-off object per map")
    cow.write_text(cow.read_text().replace(WRITE + ONE_OFF, WRITE + ONE_OFF + EXTRA))
    git(repo, "commit", "-q", "-am", "one more allocation per write")
    return repo


RunMapbench = Callable[..., "subprocess.CompletedProcess[str]"]  # the conftest fixture


def _ci(repo: Path, run: RunMapbench, base: str, head: str, name: str) -> tuple[int, str, Path]:
    out = repo.parent / name
    where = ["--repo", str(repo), "--work-dir", str(repo.parent / "work"), "-o", str(out)]
    done = run("ci", base, head, *CI_ARGS, *where, cwd=repo.parent)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, (out / "summary.md").read_text(), out


def _exact(out: Path, side: str) -> dict[str, float]:
    frame = load([out / "results" / side]).frame
    exact = frame[frame["kind"] == "deterministic"]
    return dict(zip(exact["metric"], exact["value"], strict=True))


def test_one_extra_allocation_per_write_is_flagged(repo: Path, run_mapbench: RunMapbench) -> None:
    status, summary, out = _ci(repo, run_mapbench, "HEAD~1", "HEAD", "extra")
    assert status == 1, summary
    flagged = [line for line in summary.splitlines() if "🔴" in line]
    line = next(x for x in flagged if title("alloc_python_calls_per_op") in x)
    assert "+1 alloc/op" in line and "cow · insert" in line
    base, head = _exact(out, "base"), _exact(out, "head")
    assert head["alloc_python_calls_per_op"] - base["alloc_python_calls_per_op"] == 1


def test_a_one_off_object_is_not_flagged(repo: Path, run_mapbench: RunMapbench) -> None:
    status, summary, out = _ci(repo, run_mapbench, "HEAD~2", "HEAD~1", "one-off")
    assert status == 0, summary
    assert "No regression" in summary
    base, head = _exact(out, "base"), _exact(out, "head")
    # The object is there (kept bytes grew) but within the byte tolerance; per op it cancels.
    assert 0 < head["alloc_net_bytes"] - base["alloc_net_bytes"] <= 1024
    per_op = [m for m in base if m.endswith("_per_op")]
    assert per_op and all(head[m] == base[m] for m in per_op)
