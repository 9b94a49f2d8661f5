"""The suites end to end: a real `mapbench run`, two interpreters, asv on a clone of the repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mapbench.builder import source_root
from mapbench.runner.interpreters import available, path_prefix

ROOT = source_root()
MAPBENCH = [sys.executable, "-m", "mapbench"]


def _run(cmd: list[str], cwd: Path, timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _tag(version: str) -> str:
    return ".".join(version.split(".")[:2])


@pytest.mark.slow  # ~5 s of CPU; much longer in wall time on a busy 2-core machine
def test_mapbench_run_quick_writes_a_results_directory(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = _run(
        [
            *MAPBENCH,
            "run",
            "--quick",
            "--map=dict",
            "--map=sharded,shards=4",
            "--workload=lookup-hit,concurrent",
            f"--output={out}",
        ],
        tmp_path,
        timeout=120,
    )
    tag = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert [p.name for p in out.iterdir()] == [f"metrics-{tag}.json"]
    metrics = json.loads((out / f"metrics-{tag}.json").read_text())
    assert metrics["environment"]["hash_seed"] == "0"
    assert metrics["environment"]["run"]["quick"] is True
    cases = {(r["map"], r["workload"]): r for r in metrics["results"]}
    # dict is not thread-safe, so concurrent is skipped for it (and said so), not failed.
    assert set(cases) == {
        ("dict", "lookup-hit"),
        ("sharded,shards=4", "lookup-hit"),
        ("sharded,shards=4", "concurrent"),
    }
    assert all(r["status"] == "ok" and r["metrics"] for r in cases.values())
    names = {m["name"] for m in cases[("dict", "lookup-hit")]["metrics"]}
    assert {"gc_pause_total", "alloc_peak_bytes", "latency_p99"} <= names
    timed = {m["name"]: m for m in cases[("dict", "lookup-hit")]["metrics"]}
    # pyperf's worker processes, each a group of values, with both clocks read around each run
    assert timed["time"]["loop"] == timed["cpu_time"]["loop"] == "pyperf"
    assert len(timed["time"]["groups"]) >= 2
    assert timed["time"]["groups"] == timed["cpu_time"]["groups"]
    assert "skipped: dict lacks a capability concurrent needs" in done.stdout
    assert "3 ok, 0 failed, 0 timeout, 1 skipped" in done.stdout


def _other_python() -> str | None:
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return next((v for v, exe in available().items() if exe and v != here), None)


@pytest.mark.slow
def test_two_interpreters_share_one_results_directory(tmp_path: Path) -> None:
    other = _other_python()
    if other is None:
        pytest.skip("needs a second Python 3.10-3.13")
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    out = tmp_path / "results"
    # The other interpreter gets a cached venv (created on first use, which takes a minute).
    _run(
        [
            *MAPBENCH,
            "run",
            "--quick",
            "--no-metrics",
            "--map=dict",
            "--workload=insert",
            f"--python={here}",
            f"--python={other}",
            f"--output={out}",
        ],
        tmp_path,
        timeout=900,
    )
    for tag in (here, other):
        env = json.loads((out / f"metrics-{tag}.json").read_text())["environment"]
        assert _tag(env["python"]) == tag and env["run"]["python_requested"] == tag
        [result] = json.loads((out / f"metrics-{tag}.json").read_text())["results"]
        assert {m["name"] for m in result["metrics"]} >= {"time", "cpu_time"}


@pytest.mark.slow
@pytest.mark.tools
def test_asv_quick_run_and_publish_on_a_clone(tmp_path: Path) -> None:
    if ROOT is None or not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the git checkout")
    found = {v: exe for v, exe in available().items() if exe}
    if not found:
        pytest.skip("no Python 3.10-3.13 found for asv")
    versions = list(found)[:2]  # two Pythons where there are two: the matrix is the point
    clone = tmp_path / "repo"
    _run(["git", "clone", "-q", str(ROOT), str(clone)], tmp_path, timeout=120)
    asv = [sys.executable, "-m", "asv"]
    env = {"PATH": f"{path_prefix(found)}{os.pathsep}{os.environ['PATH']}"}
    _run([*asv, "machine", "--yes"], clone, timeout=60, **env)
    # One map keeps it short; every kind of benchmark is still there.
    _run(
        [
            *asv,
            "run",
            "--quick",
            *(f"--environment=virtualenv:{v}" for v in versions),
            "--bench",
            r"^ci\..*\('dict'",
            "--bench",
            r"^environment\.",
            "HEAD^!",
        ],
        clone,
        timeout=1500,
        **env,
    )
    # `asv continuous` builds the parent commit too; the environment benchmarks keep it short.
    _run(
        [
            *asv,
            "continuous",
            "--quick",
            f"--environment=virtualenv:{versions[0]}",
            "--bench",
            r"^environment\.",
            "HEAD~1",
            "HEAD",
        ],
        clone,
        timeout=900,
        **env,
    )
    _run([*asv, "publish"], clone, timeout=300, **env)
    results = {p.name for p in (clone / ".asv" / "results").rglob("*.json")}
    for v in versions:
        assert any(f"py{v}" in name for name in results), f"no results for Python {v}: {results}"
    graphs = {p.stem for p in (clone / ".asv" / "html" / "graphs").rglob("*.json")}
    for name in (
        "ci.TimeWorkloads.time_run",
        "ci.GcPauses.track_gc_pause_total",
        "ci.Allocations.track_alloc_peak_bytes",
        "ci.ProbeLengths.track_probe_hit_mean",
        "environment.track_python_hash_seed",
    ):
        assert name in graphs, f"{name} has no graph; graphs: {sorted(graphs)}"
