"""Units of `mapbench ci`: process schedule, per-process minima, worker isolation, revisions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mapbench.ci import instructions
from mapbench.ci.build import BuildError, resolve
from mapbench.ci.interleave import CaseSpec, Runner, Side, SideRuns, schedule
from mapbench.ci.results_io import time_measurement
from mapbench.ci.slowmap import WORK, SlowMap

A, B = Side("base", sys.executable), Side("head", sys.executable)
LOOKUP = CaseSpec("dict", "lookup-hit", 200, "random-int")


def test_interleaved_schedule_alternates_and_flips_the_order_every_round() -> None:
    names = [s.name for s in schedule((A, B), 3, interleave=True)]
    assert names == ["base", "head", "head", "base", "base", "head"]
    assert [s.name for s in schedule((A, B), 2, interleave=False)] == ["base"] * 2 + ["head"] * 2


def test_one_time_sample_per_process_the_fastest_of_its_runs() -> None:
    m = time_measurement([[3.0, 1.0, 2.0], [5.0, 4.0, 6.0]])
    assert m.samples == (1.0, 4.0)
    assert m.value == 1.0 and m.kind == "noisy" and m.unit == "s"
    assert "2 interleaved processes" in m.note


def test_worker_times_cases_and_reports_a_bad_map_without_losing_the_rest() -> None:
    bad = CaseSpec("no-such-map", "lookup-hit", 200, "random-int")
    with Runner([LOOKUP, bad], timeout=120) as runner:
        out = runner.run(A, "time", reps=3)
        exact = runner.run(A, "deterministic", reps=1)
    by_label = {r["label"]: r for r in out["results"]}
    assert by_label[LOOKUP.label]["status"] == "ok"
    assert len(by_label[LOOKUP.label]["times"]) == 3
    assert all(t > 0 for t in by_label[LOOKUP.label]["times"])
    assert by_label[bad.label]["status"] == "failed"
    assert "no-such-map" in by_label[bad.label]["error"]
    names = {m["name"] for m in exact["results"][0]["metrics"]}
    assert {"alloc_peak_bytes", "alloc_net_bytes"} <= names
    assert out["environment"]["hash_seed"] == "0"


def test_a_crashing_worker_charges_every_case_with_the_crash(tmp_path: Path) -> None:
    crash = tmp_path / "crash.py"
    crash.write_text("import ctypes\n\ndef make():\n    ctypes.string_at(0)\n")
    side = Side("head", sys.executable, specs={"boom": f"{crash}:make"})
    cases = [LOOKUP, CaseSpec("boom", "lookup-hit", 10, "random-int")]
    with Runner(cases, timeout=120) as runner:
        out = runner.run(side, "time", reps=1)
    assert [r["status"] for r in out["results"]] == ["failed", "failed"]
    assert all("SIGSEGV" in r["error"] for r in out["results"])


def test_exact_metrics_are_identical_in_separate_processes() -> None:
    case = CaseSpec("sharded", "insert", 500, "short-str")  # str keys: hash seed matters
    with Runner([case], timeout=120) as runner:
        first, second = (runner.run(A, "deterministic", 1)["results"][0] for _ in range(2))
    assert first["status"] == "ok" and first["metrics"]
    assert first["metrics"] == second["metrics"]


def test_a_revision_that_is_not_a_commit_is_a_clear_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(BuildError, match="'nope' is not a commit"):
        resolve(tmp_path, "nope")


def test_slowmap_does_the_stated_extra_work() -> None:
    assert len(SlowMap()._spin) == WORK
    assert len(SlowMap(extra=5)._spin) == WORK + 5
    m = SlowMap(extra=20)
    m[1] = 2
    assert m[1] == 2 and m.get(3) is None


@pytest.mark.slow
@pytest.mark.skipif(not instructions.available(), reason="needs valgrind")
def test_instruction_counts_repeat_exactly_and_see_two_percent_more_work() -> None:
    case = CaseSpec("slowmap", "lookup-hit", 300, "random-int")
    base = Side("base", sys.executable, specs={"slowmap": "mapbench.ci.slowmap:SlowMap"})
    head = Side("head", sys.executable, specs={"slowmap": "mapbench.ci.slowmap:SlowMap,extra=2"})
    with Runner([case], timeout=600) as runner:
        low = [instructions.instructions(runner, base, 1) for _ in range(2)]
        many, ops = instructions.instructions(runner, base, 3)
        per_op_base = (many - low[0][0]) / (2 * ops)
        per_op_head = instructions.per_operation(runner, head)
    assert low[0] == low[1]
    assert ops == 300
    assert 1.005 < per_op_head / per_op_base < 1.03


@pytest.mark.slow
@pytest.mark.skipif(not instructions.available(), reason="needs valgrind")
def test_instruction_counts_join_the_exact_metrics() -> None:
    case = CaseSpec("slowmap", "lookup-hit", 200, "random-int")
    runs = SideRuns(Side("base", sys.executable, specs={"slowmap": "mapbench.ci.slowmap:SlowMap"}))
    instructions.add_to(runs, [case], timeout=600)
    [metric] = runs.metrics[case.label]
    assert metric["name"] == "instructions" and metric["kind"] == "deterministic"
    assert metric["unit"] == "instructions/op"
    assert 1_000 < metric["value"] < 1_000_000, "a lookup through a Python map and a 100-step loop"
