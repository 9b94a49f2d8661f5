"""Units of `mapbench ci`: process schedule, runs kept per process, worker isolation, revisions,
background load, adaptive rounds and the PR summary."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mapbench.reports import markdown_text

from mapbench.ci import instructions
from mapbench.ci.adaptive import loose_rows
from mapbench.ci.background import busy_loops
from mapbench.ci.interleave import EXACT_COLLECTORS, Runner, Side, SideRuns, schedule
from mapbench.ci.slowmap import WORK, SlowMap
from mapbench.compare import Comparison, compare
from mapbench.errors import MapbenchError
from mapbench.git import GitError, resolve
from mapbench.isolate import Outcome
from mapbench.measure import CaseId, measurement
from mapbench.measure.launch import WorkerRun
from mapbench.measure.timing import across_processes
from mapbench.results import ResultSet, Row, frame_of
from mapbench.schema import CaseResult
from mapbench.thresholds import Thresholds

A, B = Side("base", sys.executable), Side("head", sys.executable)
LOOKUP = CaseId("dict", "lookup-hit", "random-int", 200)


def test_interleaved_schedule_alternates_and_flips_the_order_every_round() -> None:
    names = [s.name for s in schedule((A, B), 3)]
    assert names == ["base", "head", "head", "base", "base", "head"]
    # rounds added later continue the alternation where it stopped
    assert [s.name for s in schedule((A, B), 2, start=3)] == ["head", "base", "base", "head"]


def test_every_run_of_every_process_is_kept_with_its_process() -> None:
    rounds = [
        [measurement("time", min(s), samples=s), measurement("cpu_time", min(s), samples=s)]
        for s in ((3.0, 1.0, 2.0), (5.0, 4.0, 6.0))
    ]
    m = across_processes(rounds, "time", "interleaved processes")
    assert m is not None
    assert m.samples == (3.0, 1.0, 2.0, 5.0, 4.0, 6.0) and m.groups == (3, 3)
    assert m.value == 2.5  # the median of the processes' fastest runs
    assert m.kind == "noisy" and m.unit == "s"
    assert m.gc == "off" and m.loop == "mapbench"
    assert "3 runs in each of 2 interleaved processes" in m.note
    assert across_processes(rounds, "latency_max") is None


def test_worker_times_cases_and_reports_a_bad_map_without_losing_the_rest() -> None:
    bad = CaseId("no-such-map", "lookup-hit", "random-int", 200)
    with Runner([LOOKUP, bad], timeout=120) as runner:
        out = runner.run(A, runner.job(A, reps=3))
        exact = runner.run(A, runner.job(A, collectors=EXACT_COLLECTORS))
    good, failed = out.results
    assert good.status == "ok"
    [time] = [m for m in good.metrics if m.name == "time"]
    assert len(time.samples) == 3 and all(t > 0 for t in time.samples)
    assert failed.status == "failed"
    assert "no-such-map" in failed.error and "MapSpecError" in failed.error
    assert "Traceback" in failed.traceback
    names = {m.name for m in exact.results[0].metrics}
    assert {"alloc_peak_bytes", "alloc_net_bytes", "probe_hit_mean"} <= names
    assert out.environment["hash_seed"] == "0"


def test_a_crashing_worker_charges_every_case_with_the_crash(tmp_path: Path) -> None:
    crash = tmp_path / "crash.py"
    crash.write_text("import ctypes\n\ndef make():\n    ctypes.string_at(0)\n")
    side = Side("head", sys.executable, specs={"boom": f"{crash}:make"})
    cases = [LOOKUP, CaseId("boom", "lookup-hit", "random-int", 10)]
    with Runner(cases, timeout=120) as runner:
        out = runner.run(side, runner.job(side, reps=1))
    assert [r.status for r in out.results] == ["failed", "failed"]
    assert all("SIGSEGV" in r.error for r in out.results)


def test_exact_metrics_are_identical_in_separate_processes() -> None:
    case = CaseId("sharded", "insert", "short-str", 500)  # str keys: hash seed matters
    with Runner([case], timeout=120) as runner:
        job = runner.job(A, collectors=EXACT_COLLECTORS)
        first, second = (runner.run(A, job).results[0] for _ in range(2))
    assert first.status == "ok" and first.metrics
    exact = [(m.name, m.value, m.samples) for m in first.metrics if m.kind == "deterministic"]
    assert exact == [
        (m.name, m.value, m.samples) for m in second.metrics if m.kind == "deterministic"
    ]


def test_a_revision_that_is_not_a_commit_is_a_clear_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(GitError, match="'nope' is not a commit"):
        resolve(tmp_path, "nope")


def test_slowmap_does_the_stated_extra_work() -> None:
    assert len(SlowMap()._spin) == WORK
    assert len(SlowMap(extra=5)._spin) == WORK + WORK * 5 // 100
    m = SlowMap(extra=20)
    m[1] = 2
    assert m[1] == 2 and m.get(3) is None


@pytest.mark.slow
@pytest.mark.skipif(not instructions.available(), reason="needs valgrind")
def test_instruction_counts_repeat_exactly_and_see_two_percent_more_work() -> None:
    case = CaseId("slowmap", "lookup-hit", "random-int", 300)
    base = Side("base", sys.executable, specs={"slowmap": "mapbench.ci.slowmap:SlowMap"})
    head = Side("head", sys.executable, specs={"slowmap": "mapbench.ci.slowmap:SlowMap,extra=2"})
    with Runner([case], timeout=600) as runner:
        per_op = [instructions.per_operation(runner, base) for _ in range(2)]
        # Other answer files beside the worker's own (other passes') are not counted.
        (runner.launcher.directory / "unrelated.json").write_text("{}")
        per_op.append(instructions.per_operation(runner, base))
        per_op_head = instructions.per_operation(runner, head)
    with Runner([case], timeout=600) as elsewhere:  # another private directory, another name
        per_op.append(instructions.per_operation(elsewhere, base))
    assert len(set(per_op)) == 1, per_op
    assert 1.005 < per_op_head / per_op[0] < 1.03


class _OldWorker:
    """A runner whose worker runs its case outside the counted function, as a mapbench older
    than `mapbench.measure._counted` does: callgrind collects nothing."""

    cases = (LOOKUP,)

    def job(self, side: Side, **_: object) -> None:
        return None

    def run(self, side: Side, job: None, prefix: tuple[str, ...] = ()) -> WorkerRun:
        outcome = Outcome("ok", 0, None, "==7== Events    : Ir\n==7== Collected : 0\n", 1.0)
        return WorkerRun((CaseResult.of(LOOKUP),), {}, outcome)


def test_a_worker_that_counts_nothing_is_an_error_not_zero_instructions() -> None:
    side = Side("base", sys.executable)
    with pytest.raises(MapbenchError, match="counted nothing at base"):
        instructions.per_operation(_OldWorker(), side)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.skipif(not instructions.available(), reason="needs valgrind")
def test_instruction_counts_join_the_exact_metrics() -> None:
    case = CaseId("slowmap", "lookup-hit", "random-int", 200)
    runs = SideRuns(Side("base", sys.executable, specs={"slowmap": "mapbench.ci.slowmap:SlowMap"}))
    instructions.add_to(runs, [case], timeout=600)
    [metric] = runs.metrics[case]
    assert metric.name == "instructions" and metric.kind == "deterministic"
    assert metric.unit == "instructions/op"
    assert 1_000 < metric.value < 1_000_000, "a lookup through a Python map and its loop"


def test_the_timing_pass_records_the_machines_conditions() -> None:
    with Runner([LOOKUP], timeout=120) as runner:
        out = runner.run(A, runner.job(A, reps=4))
    metrics = {m.name: m for m in out.results[0].metrics}
    assert {"time", "cpu_time", "context_switches", "load_average"} <= set(metrics)
    assert len(metrics["context_switches"].samples) == 4
    assert all(n >= 0 for n in metrics["context_switches"].samples)
    assert metrics["load_average"].value >= 0 and metrics["time"].groups == (4,)


def test_busy_loops_run_for_the_block_and_are_always_stopped() -> None:
    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split()[2] != "Z"
        except FileNotFoundError:
            return False

    with busy_loops(2) as pids:
        assert len(pids) == 2 and all(alive(p) for p in pids)
    assert not any(alive(p) for p in pids)
    with pytest.raises(KeyboardInterrupt), busy_loops(1) as pids:
        raise KeyboardInterrupt
    assert not alive(pids[0])
    # a parent killed outright cannot clean up: its loops notice and stop by themselves
    script = (
        "from mapbench.ci.background import busy_loops\nimport time\n"
        "with busy_loops(2) as pids:\n    print(*pids, flush=True)\n    time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    orphans = [int(pid) for pid in parent.stdout.readline().split()]
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in orphans) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(orphans) == 2 and not any(alive(p) for p in orphans)


def test_adaptive_rounds_stop_on_width_alone() -> None:
    """Tight intervals stop the rounds whatever the verdict; a loose one (or none) does not."""

    def comparison(*intervals: tuple[float, float]) -> Comparison:
        rows = pd.DataFrame(
            {
                "metric": ["cpu_time"] * len(intervals) + ["probe_hit_mean"],
                "ci_low": [lo for lo, _ in intervals] + [math.nan],
                "ci_high": [hi for _, hi in intervals] + [math.nan],
                "verdict": ["no change"] * len(intervals) + ["no change"],
            }
        )
        return Comparison(rows, (), "a", "b", Thresholds(min_effect=0.10))

    assert loose_rows(comparison((0.97, 1.05), (1.20, 1.30))) == 0
    assert loose_rows(comparison((0.97, 1.05), (1.10, 1.40))) == 1  # a "regression" still loose
    assert loose_rows(comparison((0.0, math.inf))) == 1


def test_the_pr_summary_lists_every_row_that_is_not_unchanged() -> None:
    base = {"slow": [(1e-6,)] * 10, "noisy": [(1e-6,)] * 3 + [(2e-6,)] * 7, "same": [(1e-6,)] * 10}
    rows = []
    for side, scale in (("a", 1.0), ("b", 1.3)):
        for name, runs in base.items():
            values = tuple(v * (scale if name == "slow" else 1.0) * (1 + i / 1000)
                           for i, (v,) in enumerate(runs))  # fmt: skip
            rows.append(time_row(side, name, values))
    result = compare(*(ResultSet(frame_of([r for r in rows if r.commit == s])) for s in "ab"))
    text = markdown_text(result)
    assert "🔴 1 regression" in text and "🟠 1 too noisy" in text
    table = [line for line in text.splitlines() if line.startswith("| 🔴") or "| 🟠" in line]
    slow = next(line for line in table if "slow ·" in line)
    assert "1 µs → 1.31 µs" in slow and "+30.0%" in slow and r"\[+29.5%, +30.5%\]" in slow
    noisy = next(line for line in table if "noisy ·" in line)
    assert noisy.startswith("| 🟠") and "modes" in noisy and "2.01 µs → 2.01 µs" in noisy
    assert "same ·" not in text  # unchanged rows are counted, not listed


def time_row(commit: str, name: str, values: tuple[float, ...]) -> Row:
    """A CPU-time row of one map with one sample per worker process."""
    return Row(
        source="mapbench", file=f"{commit}.json", machine="vm", commit=commit,
        commit_date=pd.NaT, python="3.12.1", env="", benchmark="lookup-hit", map=name,
        workload="lookup-hit", size=1000, key_kind="random-int", params="", metric="cpu_time",
        unit="s", kind="noisy", value=min(values), samples=values,
    )  # fmt: skip
