"""What every asv result depends on but asv does not record: the hash seed and GC thresholds."""

from __future__ import annotations

import gc

from ._harness import hash_seed


def track_python_hash_seed() -> int:
    """PYTHONHASHSEED of the benchmark processes (-1: unset, so str results vary run to run)."""
    return hash_seed()


track_python_hash_seed.unit = "seed"  # type: ignore[attr-defined]


def track_gc_threshold0() -> int:
    """Allocations between young collections: GC figures change with it (700 vs 2000 on 3.13)."""
    return gc.get_threshold()[0]


track_gc_threshold0.unit = "objects"  # type: ignore[attr-defined]
