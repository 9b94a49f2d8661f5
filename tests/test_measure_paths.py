"""One case, four runners: `mapbench run`, the `mapbench ci` worker, the asv suite's benchmark
functions and `mapbench measure` measure it through the one library and agree exactly.

Also the proof behind every "deterministic" label in the catalog: a metric is deterministic only
if separate processes with different histories (different passes before it, different runners)
give the same value.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mapbench.ci.interleave import EXACT_COLLECTORS, Runner, Side
from mapbench.cli import main
from mapbench.measure import CATALOG, CaseId, collect, open_case
from mapbench.registry import registry
from mapbench.results import load
from mapbench.schema import Measurement

CASE = CaseId("sharded", "insert", "random-int", 2000)
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

Exact = dict[str, tuple[str, float, tuple[float, ...]]]


def _exact(metrics: list[Measurement]) -> Exact:
    return {
        m.name: (m.unit, m.value, tuple(m.samples)) for m in metrics if m.kind == "deterministic"
    }


def _by_run(tmp_path: Path) -> tuple[Exact, Any]:
    out = tmp_path / "run"
    argv = ["run", "--quick", "--processes", "2", "--map", CASE.map, "--workload", CASE.workload]
    argv += ["--key-kind", CASE.key_kind, "--size", str(CASE.size), "-o", str(out)]
    assert main(argv) == 0
    frame = load([out]).frame
    exact = frame[(frame["kind"] == "deterministic") & (frame["source"] == "mapbench")]
    found = {r.metric: (r.unit, r.value, r.samples) for r in exact.itertuples()}
    return found, frame[frame["metric"] == "time"]


def _by_ci_worker() -> tuple[Exact, list[Measurement]]:
    side = Side("head", sys.executable)
    with Runner([CASE], timeout=300) as runner:
        [exact] = runner.run(side, runner.job(side, collectors=EXACT_COLLECTORS)).results
        [timed] = runner.run(side, runner.job(side, reps=3)).results
    assert exact.status == timed.status == "ok"
    return _exact(list(exact.metrics)), list(timed.metrics)


def _by_measure(capsys: pytest.CaptureFixture[str]) -> tuple[Exact, list[dict[str, Any]]]:
    argv = ["measure", CASE.map, "--workload", CASE.workload, "--key-kind", CASE.key_kind]
    assert main([*argv, "--size", str(CASE.size), "--repeat", "3", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    metrics = [Measurement(**m) for m in result["metrics"]]
    return _exact(metrics), [m for m in result["metrics"] if m["name"] == "time"]


# The asv benchmark functions, called as asv calls them: in a process of their own with the hash
# seed asv.conf.json pins, the benchmarks package imported from the checkout.
ASV_SCRIPT = textwrap.dedent(
    """
    import importlib.util, inspect, json, sys
    spec = importlib.util.spec_from_file_location(
        "benchmarks", sys.argv[1] + "/__init__.py", submodule_search_locations=[sys.argv[1]]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks"] = package
    spec.loader.exec_module(package)
    import benchmarks.suite as suite
    case = json.loads(sys.argv[2])
    out = {}
    for cls in vars(suite).values():
        if not (inspect.isclass(cls) and hasattr(cls, "params")):
            continue
        for name in [n for n in dir(cls) if n.startswith("track_")]:
            bench = cls()
            bench.setup(*case)
            method = getattr(bench, name)
            out[name.removeprefix("track_")] = [method.unit, method(*case)]
    print(json.dumps(out))
    """
)


def _by_asv_functions() -> dict[str, tuple[str, float]]:
    case = json.dumps([CASE.map, CASE.workload, CASE.key_kind, CASE.size])
    done = subprocess.run(
        [sys.executable, "-c", ASV_SCRIPT, str(BENCHMARKS), case],
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"},
        timeout=300,
        check=True,
    )
    return {k: (u, v) for k, (u, v) in json.loads(done.stdout).items()}


@pytest.mark.slow
def test_one_case_through_every_runner_gives_the_same_exact_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, run_times = _by_run(tmp_path)
    capsys.readouterr()
    ci, ci_times = _by_ci_worker()
    measured, measure_times = _by_measure(capsys)
    asv = _by_asv_functions()

    assert run == ci == measured, "run, the ci worker and measure differ"
    assert {"alloc_net_bytes", "probe_hit_mean", "memory_traced_bytes_per_entry"} <= set(run)
    asv_exact = {k: v for k, v in asv.items() if CATALOG[k].kind == "deterministic"}
    assert {"alloc_net_bytes", "probe_hit_mean", "gc_collections"} <= set(asv_exact)
    assert asv_exact == {k: run[k][:2] for k in asv_exact}, "the asv functions differ"

    # Each timing result says which loop ran it and under which GC policy.
    assert set(run_times["loop"]) == {"pyperf"} and set(run_times["gc"]) == {"off"}
    assert all((m.loop, m.gc) == ("mapbench", "off") for m in ci_times)
    assert {(m["loop"], m["gc"]) for m in measure_times} == {("mapbench", "off")}


def _worker_exact(spec: str, collectors: tuple[str, ...] | None) -> Exact:
    side = Side("a", sys.executable, specs={"m": spec})
    with Runner([CaseId("m", "churn", "short-str", 1500)], timeout=300) as runner:
        job = runner.job(side, collectors=collectors)  # type: ignore[arg-type]
        [result] = runner.run(side, job).results
    assert result.status == "ok", result.error
    return _exact(list(result.metrics))


# Maps whose work runs in a thread of their own: what tracemalloc sees depends on scheduling,
# so their allocation and memory figures are labelled noisy (and left out of this proof).
THREADED = {"sqlitedict"}
ALLOCATION_SOURCES = {"blocks", "tracemalloc", "allocations", "memory"}


@pytest.mark.slow
@pytest.mark.parametrize("spec", [name for name, info in registry().items() if info.available])
def test_deterministic_metrics_repeat_exactly_whatever_ran_before(spec: str) -> None:
    # Every collector (the run path) against only the exact ones (the ci path), str keys.
    everything = _worker_exact(spec, None)
    exact_only = _worker_exact(spec, EXACT_COLLECTORS)
    assert everything == exact_only
    assert everything == _worker_exact(spec, None)
    claimed = {
        n for n, m in CATALOG.items() if m.kind == "deterministic" and m.source != "instructions"
    }
    missing_allowed = {"resizes", "memory_file_bytes_per_entry"}
    if "probe_hit_mean" not in everything:  # a map with no table to read (most peers)
        missing_allowed |= {n for n, m in CATALOG.items() if m.source == "probes"}
    if spec in THREADED:
        missing_allowed |= {n for n, m in CATALOG.items() if m.source in ALLOCATION_SOURCES}
    assert claimed - set(everything) <= missing_allowed


def test_figures_taken_while_threads_run_are_labelled_noisy() -> None:
    case = open_case(CaseId("sharded", "concurrent", "random-int", 2000))  # four threads
    try:
        found = collect(case, ["tracemalloc", "memory"])
    finally:
        case.close()
    assert found.measurements
    assert all(m.kind == "noisy" and "threads ran" in m.note for m in found.measurements)
