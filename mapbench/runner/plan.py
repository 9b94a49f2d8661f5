"""Which cases a run measures: maps x workloads x key kinds x sizes, with the two default plans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mapbench import spec as _spec
from mapbench.measure.case import CaseId
from mapbench.registry import parse_spec, registry
from mapbench.workloads import KEY_KINDS, WORKLOADS, WorkloadError, get_workload


@dataclass(frozen=True)
class Plan:
    """The workloads, key kinds and sizes a run covers when not told otherwise."""

    workloads: tuple[str, ...]
    key_kinds: tuple[str, ...]
    sizes: tuple[int, ...]


# Every workload at a size past the L1/L2 caches, on int and str keys (hashing differs).
DEFAULT_PLAN = Plan(tuple(WORKLOADS), ("random-int", "short-str"), (10_000,))
# The core operations once, small: a smoke test and a rough picture in about two minutes.
QUICK_PLAN = Plan(
    ("insert", "lookup-hit", "lookup-miss", "delete", "mixed-90-10"), ("random-int",), (1_000,)
)


def select_maps(
    specs: Sequence[str], *, check_names: bool = True
) -> tuple[list[tuple[str, str]], list[str]]:
    """(label, loadable spec) of each map to run, and notes on registered maps left out.

    With no specs: every available registered map. Registered names are checked here (unless
    `check_names` is off: maps installed only where the workers run); other `module:callable`
    specs are only checked for a missing file, never imported in this process (a map that
    crashes on import must take down a worker, not the run).
    """
    if not specs:
        known = registry()
        chosen = [(name, name) for name, info in known.items() if info.available]
        notes = [f"{n}: unavailable: {i.unavailable}" for n, i in known.items() if not i.available]
        return chosen, notes
    chosen = []
    for text in specs:
        parsed = _spec.parse(text)
        if parsed.kind == "name" and check_names:
            parse_spec(text)  # unknown names and bad options raise a clear MapSpecError
        elif parsed.file is not None and not parsed.file.is_file():
            raise _spec.MapSpecError(f"no such file {str(parsed.file)!r} in map spec {text!r}")
        chosen.append((parsed.text, parsed.absolute()))
    return chosen, []


def make_cases(
    maps: Sequence[tuple[str, str]],
    workloads: Sequence[str],
    key_kinds: Sequence[str],
    sizes: Sequence[int],
    seed: int = 0,
) -> list[CaseId]:
    """Every combination, map-major, after checking names and sizes."""
    for name in workloads:
        get_workload(name)
    for kind in key_kinds:
        if kind not in KEY_KINDS:
            raise WorkloadError(f"unknown key kind {kind!r}; known: {', '.join(KEY_KINDS)}")
    for size in sizes:
        if size < 1:
            raise WorkloadError(f"size must be a positive integer, not {size}")
    return [
        CaseId(label, w, k, n, seed, spec)
        for label, spec in maps
        for w in workloads
        for k in key_kinds
        for n in sizes
    ]
