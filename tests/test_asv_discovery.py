"""asv finds exactly the suites' benchmarks in benchmarks/, and nothing a helper script defines.

Discovery runs as asv runs it: `python -m asv.benchmark discover DIR FILE` (asv_runner's
`disc_benchmarks`) in a process of its own, outside the checkout.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mapbench.catalog import CATALOG

pytest.importorskip("asv_runner")

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

_TRACKS = {
    "GcPauses": (
        "gc_collections",
        "gc_collections_gen2",
        "gc_pause_max",
        "gc_pause_max_gen2",
        "gc_pause_total",
    ),
    "Allocations": (
        "alloc_live_blocks",
        "alloc_net_bytes",
        "alloc_peak_bytes",
        "allocated_blocks_net",
    ),
    "ProbeLengths": ("probe_hit_max", "probe_hit_mean", "probe_miss_mean"),
}


def _tracks(module: str) -> set[str]:
    return {f"{module}.{cls}.track_{m}" for cls, metrics in _TRACKS.items() for m in metrics}


EXPECTED = {
    "suite.TimeWorkloads.time_run",
    "suite.TimeKeyKinds.time_run",
    "suite.MemoryPerEntry.track_memory_bytes_per_entry",
    "suite.MemoryPerEntry.track_memory_traced_bytes_per_entry",
    "suite.PeakMem.peakmem_fill",
    *_tracks("suite"),
    "ci.TimeWorkloads.time_run",
    *_tracks("ci"),
    "environment.track_python_hash_seed",
    "environment.track_gc_threshold0",
}


def _discovered(tmp_path: Path) -> list[str]:
    out = tmp_path / "benchmarks.json"
    subprocess.run(
        [sys.executable, "-m", "asv.benchmark", "discover", str(BENCHMARKS), str(out)],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return [b["name"] for b in json.loads(out.read_text())]


def test_asv_discovers_exactly_the_suites_benchmarks(tmp_path: Path) -> None:
    names = _discovered(tmp_path)
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED


def test_asv_gates_exactly_the_metrics_the_catalog_calls_deterministic() -> None:
    """asv.conf.json's regression threshold of each benchmark (asv takes the largest of the
    patterns that match) is exact (0.1%) where the catalog proves the metric deterministic, and
    wider for every noisy one: one statement per metric, the same in both places."""
    from asv import util

    config = util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    thresholds = config["regressions_thresholds"]
    for name in sorted(EXPECTED - {n for n in EXPECTED if n.startswith("environment.")}):
        threshold = max(float(v) for k, v in thresholds.items() if re.match(k, name))
        method = name.rsplit(".", 1)[1]  # time_ and peakmem_ benchmarks are noisy
        tracked = (
            CATALOG.get(method.removeprefix("track_")) if method.startswith("track_") else None
        )
        exact = tracked is not None and tracked.kind == "deterministic"
        assert (threshold <= 0.001) == exact, (name, threshold)
