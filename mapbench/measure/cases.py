"""Open a case for measuring: its map loaded from its spec, its keys and first map built."""

from __future__ import annotations

from mapbench.case import CaseId
from mapbench.registry import parse_spec
from mapbench.workloads import Case, get_workload


def open_case(case: CaseId) -> Case:
    """Build the workload's keys and first map (untimed); the caller closes the case."""
    spec = parse_spec(case.loadable_spec)
    return get_workload(case.workload).prepare(
        spec.create, case.size, case.key_kind, case.seed, case.value_kind
    )


__all__ = ["open_case"]
