"""mapbench's asv suites for a map author's own maps, generated from `[tool.mapbench]`.

`mapbench init` writes a thin `benchmarks/mapbench_suites.py` into the author's repository:

    from mapbench.asv_suites import suites
    globals().update(suites(__file__))

asv imports it in the environment of each commit it benchmarks (the commit's package, plus
mapbench, the instrument, installed by the `install_command` of the generated asv.conf.json)
and finds the classes below, parametrized by the maps, workloads, key kinds and sizes of the
pyproject.toml beside `benchmarks/`. Times are asv's loop around one run of a workload (GC off);
allocations, GC pauses and probe lengths are `track_` figures of one `mapbench.measure`
collector pass, exactly as `mapbench run`, `measure` and `ci` take them. A map that cannot
run a case (missing at that commit, a capability or key kind the workload needs) raises
NotImplementedError in setup, which asv records as skipped, never as failed.

mapbench's own asv suites (benchmarks/ of its repository) keep their own copy of these few
helpers: asv imports them against every past commit of mapbench, which predate this module.
"""

from __future__ import annotations

import atexit
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mapbench.catalog import info
from mapbench.measure import CaseId, collect, open_case
from mapbench.project import read_config
from mapbench.workloads import Case, WorkloadError

DEFAULT_WORKLOADS = ("insert", "lookup-hit", "lookup-miss", "delete")
DEFAULT_KEY_KINDS = ("random-int",)
DEFAULT_SIZES = (10_000,)

_cases: dict[tuple[str, str, str, int], Case] = {}


def _open_case(spec: str, workload: str, key_kind: str, size: int) -> Case:
    """The prepared case, built once per process (one live case at a time: each is a table)."""
    key = (spec, workload, key_kind, size)
    if key not in _cases:
        _close_cases()
        try:
            _cases[key] = open_case(CaseId(spec, workload, key_kind, size))
        except WorkloadError as exc:  # a capability or key kind the workload needs
            raise NotImplementedError(str(exc)) from exc
        except Exception as exc:  # the map does not exist or load at this commit
            raise NotImplementedError(f"{spec} cannot run here: {exc}") from exc
    return _cases[key]


@atexit.register
def _close_cases() -> None:
    for case in _cases.values():
        case.close()
    _cases.clear()


def _figures(case: Case, collector: str, metrics: tuple[str, ...]) -> dict[str, float]:
    """The measured (not modelled) `metrics` of one collector pass over `case`; raises
    NotImplementedError, asv's "skipped", when the pass reports none of them for this map."""
    found = collect(case, [collector])
    if collector in found.unavailable:
        raise NotImplementedError(found.unavailable[collector])
    figures = {m.name: m.value for m in found.measurements if m.kind != "modelled"}
    kept = {name: figures[name] for name in metrics if name in figures}
    if not kept:
        raise NotImplementedError(f"{collector!r} measures none of {', '.join(metrics)} here")
    return kept


def _tracking(collector: str, *metrics: str) -> dict[str, Any]:
    """The members of a suite of `track_` figures of one collector pass: asv skips a map in
    setup (never fails it) when the pass has none of them; a figure missing alone is NaN."""

    def setup(self: Any, spec: str, workload: str, key_kind: str, size: int) -> None:
        _setup(self, spec, workload, key_kind, size)
        self.figures = _figures(self.case, collector, metrics)

    def track(metric: str) -> Callable[..., float]:
        def method(self: Any, spec: str, workload: str, key_kind: str, size: int) -> float:
            return float(self.figures.get(metric, math.nan))

        method.__name__ = method.__qualname__ = f"track_{metric}"
        method.__doc__ = info(metric).description
        method.unit = info(metric).unit  # type: ignore[attr-defined]
        return method

    return {"setup": setup, **{f"track_{metric}": track(metric) for metric in metrics}}


def _setup(self: Any, spec: str, workload: str, key_kind: str, size: int) -> None:
    self.case = _open_case(spec, workload, key_kind, size)


def _setup_fresh(self: Any, spec: str, workload: str, key_kind: str, size: int) -> None:
    _setup(self, spec, workload, key_kind, size)
    self.case.reset()


def _time_run(self: Any, spec: str, workload: str, key_kind: str, size: int) -> None:
    self.case.run()


def suites(benchmark_file: str) -> dict[str, type]:
    """The asv benchmark classes for the `[tool.mapbench]` of the project `benchmark_file` is in
    (its pyproject.toml is one directory up)."""
    project = Path(benchmark_file).resolve().parent.parent
    config = read_config(project)
    if not config.maps:
        raise RuntimeError(f"no maps in [tool.mapbench] of {project / 'pyproject.toml'}")
    maps = config.maps
    workloads = config.workloads or DEFAULT_WORKLOADS
    kinds = config.key_kinds or DEFAULT_KEY_KINDS
    sizes = config.sizes or DEFAULT_SIZES
    fill = ("insert",)
    base: dict[str, Any] = {
        "param_names": ("map", "workload", "key_kind", "size"),
        "timeout": 300,
        "setup": _setup,
    }

    def suite(name: str, doc: str, params: tuple[Any, ...], **members: Any) -> type:
        return type(name, (), {**base, "__doc__": doc, "params": params, **members})

    return {
        "TimeWorkloads": suite(
            "TimeWorkloads",
            "Seconds per run of each workload (GC off; asv's loop around one run).",
            (maps, workloads, kinds, sizes),
            setup=_setup_fresh,
            time_run=_time_run,
            number=1,
            repeat=(5, 25, 1.5),
            rounds=2,
            warmup_time=0.05,
        ),
        "Allocations": suite(
            "Allocations",
            "What one insert run allocates and keeps (tracemalloc).",
            (maps, fill, kinds, sizes),
            **_tracking("tracemalloc", "alloc_peak_bytes", "alloc_net_bytes"),
        ),
        "AllocatedBlocks": suite(
            "AllocatedBlocks",
            "Blocks of Python's allocator one insert run keeps.",
            (maps, fill, kinds, sizes),
            **_tracking("blocks", "allocated_blocks_net"),
        ),
        "GcPauses": suite(
            "GcPauses",
            "GC pauses and collections during an insert run, with the GC on.",
            (maps, fill, kinds, sizes),
            **_tracking("gc", "gc_pause_total", "gc_collections"),
        ),
        "ProbeLengths": suite(
            "ProbeLengths",
            "Mean probes per hit and per miss of a filled table (maps that report them).",
            (maps, fill, kinds, sizes),
            **_tracking("probes", "probe_hit_mean", "probe_miss_mean"),
        ),
    }


__all__ = ["suites"]
