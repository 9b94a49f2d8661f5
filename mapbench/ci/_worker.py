"""One measuring process of `mapbench ci`: run cases of whatever mapbench is importable, write JSON.

This file is executed as a script by the interpreter of a commit's environment, so it imports only
that commit's `mapbench` (registry, workloads, protocol), never `mapbench.ci`, and it must keep
working against older commits: the contract it relies on is the shared one in docs.

    python _worker.py JOB.json OUT.json

JOB: {"mode": "time"|"deterministic"|"instructions", "reps": int, "seed": int,
      "cases": [{"label", "spec", "workload", "size", "key_kind"}]}
OUT: {"environment": {...}, "results": [{"label", "status", "error", "times", "metrics"}]}
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from mapbench.protocol import ProbeStatsReporter
from mapbench.registry import parse_spec
from mapbench.workloads import Case, get_workload


def _timed_runs(case: Case, reps: int) -> list[float]:
    """Seconds per operation of `reps` runs, each after an untimed reset, with the GC paused."""
    case.reset()
    case.run()  # warm-up: caches, lazily built structures, the first resize of the allocator
    times = []
    for _ in range(reps):
        case.reset()
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            case.run()
            elapsed = time.perf_counter() - t0
        finally:
            gc.enable()
        times.append(elapsed / case.ops)
    return times


def _metric(name: str, value: float, unit: str) -> dict[str, Any]:
    return {"name": name, "value": float(value), "unit": unit, "kind": "deterministic"}


def _deterministic(case: Case) -> list[dict[str, Any]]:
    """Exact numbers (fixed seed and hash seed): allocations of one run, then probe lengths."""
    case.reset()
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        case.run()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    metrics = [
        _metric("alloc_peak_bytes", peak, "B"),
        _metric("alloc_net_bytes", current, "B"),
    ]
    # The table as the workload leaves it (full after inserts and lookups); an empty one has none.
    if isinstance(case.map, ProbeStatsReporter) and len(case.map):
        stats = case.map.probe_stats()
        metrics += [
            _metric("probe_hit_mean", stats.hit_mean, stats.probe_unit),
            _metric("probe_miss_mean", stats.miss_mean, stats.probe_unit),
            _metric("probe_hit_max", stats.hit_max, stats.probe_unit),
            _metric("probe_miss_max", stats.miss_max, stats.probe_unit),
        ]
    return metrics


def _instructions(case: Case, reps: int) -> list[dict[str, Any]]:
    """Only the runs: the parent counts instructions of two such processes and subtracts."""
    for _ in range(reps):
        case.reset()
        case.run()
    return []


def _one(job: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"label": item["label"], "status": "ok", "error": None}
    result.update(times=[], metrics=[])
    try:
        spec = parse_spec(item["spec"])
        workload = get_workload(item["workload"])
        case = workload.prepare(spec.create, int(item["size"]), item["key_kind"], job["seed"])
    except Exception as exc:  # a map or workload this commit lacks: reported, others go on
        return {**result, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    result["ops"] = case.ops
    modes: dict[str, Callable[[], None]] = {
        "time": lambda: result.update(times=_timed_runs(case, job["reps"])),
        "deterministic": lambda: result.update(metrics=_deterministic(case)),
        "instructions": lambda: result.update(metrics=_instructions(case, job["reps"])),
    }
    try:
        modes[job["mode"]]()
    except Exception as exc:
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    finally:
        case.close()
    return result


def _environment() -> dict[str, Any]:
    try:
        from mapbench.environment import environment
    except ImportError:  # an older commit: the basics still say what ran
        import platform

        return {"python": platform.python_version(), "executable": sys.executable}
    return environment()


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as f:
        job = json.load(f)
    results = [_one(job, item) for item in job["cases"]]
    # Instruction counts must not depend on the clock or the host: no environment there.
    out: dict[str, Any] = {"environment": {} if job["mode"] == "instructions" else _environment()}
    out["results"] = results
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
