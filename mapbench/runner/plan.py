"""Which cases a run measures: maps x workloads x key kinds x sizes x value kinds, with the two
default plans."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from mapbench import spec as _spec
from mapbench.case import CaseId
from mapbench.errors import UsageError
from mapbench.registry import (
    builtin_maps,
    known_names,
    parse_spec,
    plugin_entry_points,
    plugin_warnings,
)
from mapbench.values import DEFAULT_VALUE_KIND, check_value_kind
from mapbench.workloads import GC_WORKLOADS, KEY_KINDS, WORKLOADS, WorkloadError, get_workload


@dataclass(frozen=True)
class Plan:
    """The workloads, key kinds and sizes a run covers when not told otherwise, with int values,
    and `reference_cases`: (workload, value kind) pairs run besides, so that every plan has
    values the collector must scan (GC figures of int values say nothing)."""

    workloads: tuple[str, ...]
    key_kinds: tuple[str, ...]
    sizes: tuple[int, ...]
    reference_cases: tuple[tuple[str, str], ...] = ()


# Every workload at a size past the L1/L2 caches, on int and str keys (hashing differs); the GC
# workloads with ints (the floor), records (the tuned ones too, to compare) and JSON-like values.
DEFAULT_PLAN = Plan(
    tuple(w for w in WORKLOADS if w not in GC_WORKLOADS),
    ("random-int", "short-str"),
    (10_000,),
    (("write-heavy", "int"), ("write-heavy", "record"), ("write-heavy", "json"),
     ("write-heavy-frozen", "record"), ("write-heavy-raised", "record"),
     ("churn-fresh", "record")),
)  # fmt: skip
# The core operations once, small: a smoke test and a rough picture in about two minutes; the
# batch forms show the C tables' own speed next to their mapping-API (ctypes) rows; write-heavy
# with records gives every map one case with values the collector scans (or, off the heap, not).
QUICK_PLAN = Plan(
    ("insert", "lookup-hit", "lookup-miss", "delete", "mixed-90-10", "insert-batch",
     "lookup-hit-batch"),
    ("random-int",),
    (1_000,),
    (("write-heavy", "record"),),
)  # fmt: skip


def select_maps(
    specs: Sequence[str], *, check_names: bool = True
) -> tuple[list[tuple[str, str]], list[str]]:
    """(label, loadable spec) of each map to run, and notes on registered maps left out.

    With no specs: every available built-in and every plugin. Only what needs no third-party
    code is checked here (built-in names and options, unknown names unless `check_names` is off
    for maps installed only where the workers run, missing files); plugins and `module:callable`
    specs are never imported in this process (a map that crashes or hangs on import must take
    down a child, not the run): the run loads each in a child first.
    """
    if not specs:
        builtins = builtin_maps()
        chosen = [(name, name) for name, info in builtins.items() if info.available]
        chosen += [(ep.name, ep.name) for ep in plugin_entry_points()]
        notes = [f"{n}: unavailable: {i.unavailable}" for n, i in builtins.items() if i.unavailable]
        return chosen, notes + plugin_warnings()
    chosen = [(_spec.parse(t).text, loadable_spec(t, check_names=check_names)) for t in specs]
    return chosen, plugin_warnings()


def loadable_spec(text: str, *, check_names: bool = True) -> str:
    """`text` as a child process in another directory can load it, after the checks that need
    no third-party code: a built-in's options, an unknown name, a missing file (`MapSpecError`).
    """
    parsed = _spec.parse(text)
    if parsed.kind == "name" and check_names:
        if parsed.target in builtin_maps() or parsed.target not in known_names():
            parse_spec(text)  # unknown names and bad options raise a clear MapSpecError
    elif parsed.file is not None and not parsed.file.is_file():
        raise _spec.MapSpecError(f"no such file {str(parsed.file)!r} in map spec {text!r}")
    return parsed.absolute()


def make_cases(
    maps: Sequence[tuple[str, str]],
    workloads: Sequence[str],
    key_kinds: Sequence[str],
    sizes: Sequence[int],
    seed: int = 0,
    value_kinds: Sequence[str] = (DEFAULT_VALUE_KIND,),
    reference_cases: Sequence[tuple[str, str]] = (),
) -> list[CaseId]:
    """Every combination, map-major, after checking names and sizes; then, per map, each
    (workload, value kind) of `reference_cases` at every key kind and size."""
    pairs = [(w, v) for w in workloads for v in value_kinds]
    pairs += [pair for pair in reference_cases if pair not in pairs]
    for name, value_kind in pairs:
        get_workload(name)
        check_value_kind(value_kind)
    for kind in key_kinds:
        if kind not in KEY_KINDS:
            raise WorkloadError(f"unknown key kind {kind!r}; known: {', '.join(KEY_KINDS)}")
    for size in sizes:
        if size < 1:
            raise WorkloadError(f"size must be a positive integer, not {size}")
    return [
        CaseId(label, w, k, n, seed, spec, v)
        for label, spec in maps
        for w, v in pairs
        for k in key_kinds
        for n in sizes
    ]


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) -> (K, N)."""
    k, sep, n = text.partition("/")
    if not (sep and k.strip().isdigit() and n.strip().isdigit()) or not 1 <= int(k) <= int(n):
        raise UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/3")
    return int(k), int(n)


def shard_of(case: CaseId, count: int) -> int:
    """The shard (1..count) a case belongs to: from a SHA-256 of its name, so every machine and
    Python version puts it in the same shard, whatever other cases it runs."""
    digest = hashlib.sha256(str(case).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard(cases: Sequence[CaseId], index: int, count: int) -> list[CaseId]:
    """The cases of shard `index` of `count`, in their original order."""
    return [case for case in cases if shard_of(case, count) == index]
