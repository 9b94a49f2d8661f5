"""What the asv suites share: the parameter lists, one cached case per process, metric lookup.

Imports only from the installed `mapbench` (asv benchmarks the wheel of each commit). A map
that is unavailable, lacks a capability or cannot store a key kind raises NotImplementedError
in setup, which asv records as skipped ("n/a") rather than failed.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import mapbench.measure as measuring
from mapbench.measure import CATALOG, CaseId, collect
from mapbench.protocol import check_key
from mapbench.registry import registry
from mapbench.values import DEFAULT_VALUE_KIND
from mapbench.workloads import GC_WORKLOADS, WORKLOADS, Case, WorkloadError, make_keys

if TYPE_CHECKING:  # a name older commits' mapbench (which asv also runs) may lack
    from mapbench.measure.collectors import Collected

# Every registered map (built-ins and entry points); unavailable ones are skipped in setup, so
# the parameter list stays the same whichever maps are built on a given commit.
MAPS = tuple(registry())
WORKLOAD_NAMES = tuple(w for w in WORKLOADS if w not in GC_WORKLOADS)  # timed by TimeWorkloads
DEFAULT_KEY_KIND = "random-int"

_cases: dict[tuple[str, str, str, int, str], Case] = {}
_passes: dict[str, Collected] = {}  # collector -> its pass over the one live case


def open_case(
    map_name: str, workload: str, key_kind: str, size: int, value_kind: str = DEFAULT_VALUE_KIND
) -> Case:
    """The prepared case for these parameters, built once per process (keys are not cheap)."""
    key = (map_name, workload, key_kind, size, value_kind)
    if key not in _cases:
        _cases.clear()  # one live case at a time: each holds a whole table
        _passes.clear()
        _cases[key] = _prepare(*key)
    return _cases[key]


def _prepare(map_name: str, workload: str, key_kind: str, size: int, value_kind: str) -> Case:
    info = registry().get(map_name)
    if info is None or not info.available:
        why = "not registered" if info is None else info.unavailable
        raise NotImplementedError(f"map {map_name!r} is unavailable here: {why}")
    probe = info.create()
    try:
        check_key(probe, make_keys(key_kind, 1)[0])
    except (TypeError, OverflowError) as exc:
        raise NotImplementedError(f"{map_name} cannot store {key_kind} keys: {exc}") from exc
    finally:
        probe.close()
    try:
        return _open(CaseId(map_name, workload, key_kind, size, value_kind=value_kind))
    except WorkloadError as exc:  # a capability or key kind the workload needs
        raise NotImplementedError(str(exc)) from exc


def _open(case: CaseId) -> Case:
    """`case` opened by the mapbench under test: `mapbench.measure.open_case` since results
    format 4, `CaseId.open()` before (asv runs this suite against earlier commits too)."""
    opener: Callable[[CaseId], Case] | None = getattr(measuring, "open_case", None)
    return opener(case) if opener is not None else case.open()  # type: ignore[attr-defined]


@atexit.register
def _close_cases() -> None:
    # Persistent maps own temporary files; close them even though asv never says goodbye.
    for case in _cases.values():
        case.close()
    _cases.clear()


class CaseBenchmark:
    """An asv benchmark class parametrized by the whole case; setup opens it (once per process).

    A class that varies the value kind adds "value_kind" to `param_names` (the others store ints).
    A class whose figures some maps lack names the collector and one of its metrics in `needs`:
    setup then runs that pass (the tracks read it), so such a map is skipped, never failed.
    """

    param_names: tuple[str, ...] = ("map", "workload", "key_kind", "size")
    timeout = 300
    needs: tuple[str, str] | None = None
    case: Case

    def setup(
        self,
        map_name: str,
        workload: str,
        key_kind: str,
        size: int,
        value_kind: str = DEFAULT_VALUE_KIND,
    ) -> None:
        self.case = open_case(map_name, workload, key_kind, size, value_kind)
        if self.needs is not None:
            measure(self.case, *self.needs)


def track(collector: str, metric: str, missing: float | None = None) -> Callable[..., float]:
    """A `track_<metric>` benchmark method: one collector pass, that metric's value.

    Its unit and description come from the catalog; `missing` is returned when the collector
    reports no such figure for this map (instead of skipping the benchmark).
    """

    def method(self: CaseBenchmark, *params: object) -> float:
        try:
            return measure(self.case, collector, metric)
        except NotImplementedError:
            if missing is None:
                raise
            return missing

    entry = CATALOG[metric]
    method.__name__ = method.__qualname__ = f"track_{metric}"
    method.__doc__ = entry.description
    method.unit = entry.unit  # type: ignore[attr-defined]
    return method


def measure(case: Case, collector: str, metric: str) -> float:
    """One value of one collector's pass over `case` (the pass resets the case first), measured
    by the same library code as every other runner, under the GC policy of its catalog entry.
    The pass runs once per process: asv runs one benchmark of one case in each."""
    if collector not in _passes:
        _passes[collector] = collect(case, [collector])
    found = _passes[collector]
    if collector in found.unavailable:
        raise NotImplementedError(found.unavailable[collector])
    for m in found.measurements:
        if m.name == metric:
            if m.kind == "modelled":  # asv cannot label a point; the pyperf suite keeps it
                raise NotImplementedError(f"{metric} is modelled for this map, not measured")
            return m.value
    raise NotImplementedError(f"collector {collector!r} reported no {metric!r} for this map")


def hash_seed() -> int:
    """The PYTHONHASHSEED this process runs with, or -1 when unset (str hashes vary per run)."""
    value = os.environ.get("PYTHONHASHSEED", "")
    return int(value) if value.isdigit() else -1
