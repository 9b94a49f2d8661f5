"""asv finds exactly the suites' benchmarks in benchmarks/, and nothing a helper script defines.

Discovery runs as asv runs it: `python -m asv.benchmark discover DIR FILE` (asv_runner's
`disc_benchmarks`) in a process of its own, outside the checkout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("asv_runner")

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

_TRACKS = {
    "GcPauses": ("gc_collections", "gc_pause_max", "gc_pause_total"),
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


def test_asv_discovers_exactly_the_suites_benchmarks(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.json"
    subprocess.run(
        [sys.executable, "-m", "asv.benchmark", "discover", str(BENCHMARKS), str(out)],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=True,
    )
    names = [b["name"] for b in json.loads(out.read_text())]
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED
