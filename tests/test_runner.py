"""The pyperf runner: isolation of crashing, hanging and raising maps, and its building blocks."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from mapbench import schema, spec
from mapbench.case import CaseId
from mapbench.ci.interleave import Runner, Side, run_interleaved
from mapbench.ci.results_io import save_side
from mapbench.compare import compare
from mapbench.errors import MapbenchError
from mapbench.formatting import value
from mapbench.isolate import describe_failure, run_isolated
from mapbench.results import load
from mapbench.runner import Settings, Target, make_cases, run_suite, select_maps
from mapbench.runner.progress import Progress
from mapbench.runner.store import ResultStore
from mapbench.schema import FORMAT, VERSION, CaseResult

BAD_MAPS = textwrap.dedent(
    """
    import ctypes
    import time


    class _Base(dict):
        key_types = (object,)
        value_types = (object,)

        def close(self):
            pass


    class Segfault(_Base):
        def __setitem__(self, key, value):
            ctypes.CFUNCTYPE(None)(0)()  # call through a null function pointer


    class Hang(_Base):
        def __setitem__(self, key, value):
            while True:
                time.sleep(0.1)


    class Raises(_Base):
        def __setitem__(self, key, value):
            raise RuntimeError("boom from the map")
    """
)

# The least pyperf accepts: enough to prove the plumbing, not to measure anything.
TINY = Settings(processes=1, values=1, warmups=0, min_time=0.001, timeout=2.0, collectors=())


@pytest.fixture
def bad_maps(tmp_path: Path) -> Path:
    path = tmp_path / "bad_maps.py"
    path.write_text(BAD_MAPS)
    return path


def _current() -> Target:
    return Target(f"{sys.version_info[0]}.{sys.version_info[1]}", sys.executable)


def test_crashing_hanging_and_raising_maps_fail_alone(bad_maps: Path, tmp_path: Path) -> None:
    specs = ["dict", f"{bad_maps}:Segfault", f"{bad_maps}:Hang", f"{bad_maps}:Raises", "cow"]
    maps, _ = select_maps(specs)
    cases = make_cases(maps, ["insert"], ["random-int"], [200])
    out = tmp_path / "out"
    results, skipped = run_suite(cases, [_current()], TINY, out, progress=Progress(len(cases)))

    by_map = {r.case.map.rpartition(":")[2]: r for r in results}
    assert skipped == []
    assert by_map["dict"].status == "ok" and by_map["cow"].status == "ok"
    assert by_map["Segfault"].status == "failed"
    assert "killed by SIGSEGV" in (by_map["Segfault"].error or "")
    assert 'bad_maps.py", line 16 in __setitem__' in (by_map["Segfault"].error or "")
    assert by_map["Hang"].status == "timeout"
    assert "timed out after 2 s" in (by_map["Hang"].error or "")
    assert by_map["Raises"].status == "failed"
    assert "RuntimeError: boom from the map" in (by_map["Raises"].error or "")

    tag = _current().tag
    saved = json.loads((out / f"metrics-{tag}.json").read_text())
    assert (saved["format"], saved["version"]) == (FORMAT, VERSION)
    assert saved["environment"]["hash_seed"] == "0"
    assert saved["complete"] is True
    statuses = {r["map"].rpartition(":")[2]: r["status"] for r in saved["results"]}
    assert statuses == {
        "dict": "ok",
        "Segfault": "failed",
        "Hang": "timeout",
        "Raises": "failed",
        "cow": "ok",
    }
    # one run, one file: pyperf's timings are measurements of the cases that ran
    assert [p.name for p in out.iterdir()] == [f"metrics-{tag}.json"]
    timed = {
        r["map"]: {m["name"]: m for m in r["metrics"]}
        for r in saved["results"]
        if r["status"] == "ok"
    }
    assert set(timed) == {"dict", "cow"}
    for metrics in timed.values():
        assert {"time", "cpu_time", "context_switches"} <= set(metrics)
        assert {metrics[n]["loop"] for n in ("time", "cpu_time")} == {"pyperf"}
        assert metrics["time"]["groups"] == metrics["cpu_time"]["groups"] == [1]


def test_unsupported_combinations_are_skipped_with_a_reason(tmp_path: Path) -> None:
    cases = make_cases([("dict", "dict")], ["concurrent"], ["random-int"], [100])
    results, skipped = run_suite(cases, [_current()], TINY, tmp_path, progress=Progress(1))
    assert results == []
    assert len(skipped) == 1 and "concurrent" in skipped[0] and "capability" in skipped[0]


def test_map_that_cannot_be_created_fails_each_case(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def make():\n    raise ValueError('no table for you')\n")
    maps, _ = select_maps([f"{path}:make"])
    cases = make_cases(maps, ["insert", "lookup-hit"], ["random-int"], [100])
    results, _ = run_suite(cases, [_current()], TINY, tmp_path / "out", progress=Progress(2))
    assert [r.status for r in results] == ["failed", "failed"]
    assert all("ValueError: no table for you" in (r.error or "") for r in results)


def test_isolated_child_is_killed_with_its_children_on_timeout() -> None:
    # The grandchild would outlive a plain kill of the child; the process group dies together.
    sleeper = "import time; time.sleep(60)"
    code = (
        f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {sleeper!r}]); {sleeper}"
    )
    outcome = run_isolated([sys.executable, "-c", code], timeout=1.0)
    assert outcome.status == "timeout" and outcome.elapsed < 10


@pytest.mark.parametrize(
    ("code", "tail", "expected"),
    [
        (
            -11,
            "Fatal Python error: Segmentation fault\n\nCurrent thread ...",
            "killed by SIGSEGV (Fatal Python error: Segmentation fault)",
        ),
        (1, "Traceback (most recent call last):\n  File x\nKeyError: 'k'", "KeyError: 'k'"),
        (
            1,
            "ValueError: bad\nRuntimeError: /usr/bin/python failed with exit code 1",
            "ValueError: bad",
        ),
        (1, "RuntimeError: /x/python failed with exit code -9", "worker killed by SIGKILL"),
        (
            1,
            "Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):"
            "\n"
            '  File "/m.py", line 4 in put\nRuntimeError: /x/python failed with exit code -11',
            'worker killed by SIGSEGV (Fatal Python error: Segmentation fault at File "/m.py", '
            "line 4 in put)",
        ),
        (3, "", "exit status 3"),
    ],
)
def test_describe_failure(code: int, tail: str, expected: str) -> None:
    assert describe_failure(code, tail) == expected


def test_relative_file_specs_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert spec.parse("./m.py:Make,size=3").absolute() == f"{tmp_path}/m.py:Make,size=3"
    assert spec.parse("sharded,shards=8").absolute() == "sharded,shards=8"
    assert spec.parse("pkg.mod:make").absolute() == "pkg.mod:make"


def test_plan_rejects_bad_names_with_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(MapbenchError, match="unknown workload 'nope'"):
        make_cases([("dict", "dict")], ["nope"], ["random-int"], [10])
    with pytest.raises(MapbenchError, match="unknown key kind"):
        make_cases([("dict", "dict")], ["insert"], ["floats"], [10])
    with pytest.raises(MapbenchError, match="no such file"):
        select_maps([f"{tmp_path}/missing.py:Make"])
    with pytest.raises(MapbenchError, match="unknown map 'nomap'"):
        select_maps(["nomap"])


def test_default_maps_are_the_available_registered_ones() -> None:
    maps, notes = select_maps([])
    labels = [label for label, _ in maps]
    assert {"dict", "sharded", "cow"} <= set(labels)
    assert all(note.split(":")[0] not in labels for note in notes)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "\u2013"), (4.2e-8, "42 ns"), (1.5e-6, "1.5 µs"), (0.0123, "12.3 ms"), (2.0, "2 s")],
)
def test_format_time(seconds: float | None, text: str) -> None:
    assert value(seconds, "s") == text


@pytest.mark.slow
def test_a_run_result_and_a_ci_result_of_one_case_pair_in_compare(tmp_path: Path) -> None:
    """One results format, whatever command made it: `mapbench run` (pyperf drives) and
    `mapbench ci` (the core's loop in interleaved workers) both record time and CPU time."""
    [case] = make_cases([("dict", "dict")], ["lookup-hit"], ["random-int"], [200])
    quick = Settings(processes=2, values=2, warmups=1, min_time=0.001, timeout=120, collectors=())
    run_suite([case], [_current()], quick, tmp_path / "run", progress=Progress(1))
    side = Side("ci", sys.executable)
    with Runner([case], timeout=120) as runner:
        sides = (side, Side("other", sys.executable))
        runs = run_interleaved(runner, sides, rounds=2, reps=2, deterministic=False)
    save_side(runs[0], [case], tmp_path / "ci", {})

    run, ci = load([tmp_path / "run"]), load([tmp_path / "ci"])
    for side, loop in ((run, "pyperf"), (ci, "mapbench")):
        timed = side.frame[side.frame["metric"].isin(["time", "cpu_time"])]
        assert set(timed["metric"]) == {"time", "cpu_time"} and set(timed["loop"]) == {loop}
    comparison = compare(run, ci, base_label="run", candidate_label="ci")
    # one clock is judged per case (CPU time, or wall time when the work waited off the CPU)
    assert len(set(comparison.rows["metric"]) & {"time", "cpu_time"}) == 1
    assert comparison.only_base.empty and comparison.only_candidate.empty
    assert set(comparison.rows["workload"]) == {"lookup-hit"}


def test_an_overwriting_run_replaces_a_legacy_pyperf_pair(tmp_path: Path) -> None:
    """Runs before format 4 wrote pyperf-<tag>.json beside metrics-<tag>.json: an --overwrite
    run replaces both with its one file; without it, a new name is taken."""
    legacy = Path(__file__).parent / "fixtures" / "runs" / "base"
    for name in ("metrics-3.11.7.json", "pyperf-3.11.7.json"):
        (tmp_path / name).write_bytes((legacy / name).read_bytes())
    kept = ResultStore(tmp_path, "3.11.7", {})
    assert kept.metrics_path.name == "metrics-3.11.7-2.json"
    kept.metrics_path.unlink()
    store = ResultStore(tmp_path, "3.11.7", {"python": "3.11.7"}, overwrite=True)
    store.add(CaseResult.of(CaseId("dict", "insert", "random-int", 10)))
    store.finish()
    assert [p.name for p in tmp_path.iterdir()] == ["metrics-3.11.7.json"]
    assert schema.decode((tmp_path / "metrics-3.11.7.json").read_bytes()).version == VERSION
