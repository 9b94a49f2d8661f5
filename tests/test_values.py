"""Value kinds: the same data for every map, objects on the heap or bytes off it, and the GC
workloads that make the collector work."""

from __future__ import annotations

import gc
import json
from typing import Any, ClassVar

import pytest

from mapbench.case import CaseId
from mapbench.measure.gc_pauses import GcPauses
from mapbench.protocol import Map
from mapbench.registry import parse_spec
from mapbench.runner.plan import DEFAULT_PLAN, QUICK_PLAN, make_cases
from mapbench.values import REFERENCE_KINDS, VALUE_KINDS, Record, values_for
from mapbench.workloads import RAISED_THRESHOLDS, WorkloadError, get_workload


class IntsOnly(dict[Any, Any]):
    key_types: ClassVar[tuple[type, ...]] = (int,)
    value_types: ClassVar[tuple[type, ...]] = (int,)

    def close(self) -> None:
        pass


def _dict() -> Map:
    return parse_spec("dict").create()


def _tracked(value: Any) -> int:
    """GC-tracked objects reachable from `value` (itself included)."""
    seen = [value]
    for obj in seen:
        if isinstance(obj, dict):
            seen += obj.values()
        elif isinstance(obj, list | tuple):
            seen += obj
    return sum(gc.is_tracked(o) for o in seen)


def test_each_kind_holds_what_the_module_says_the_gc_tracks() -> None:
    made = {kind: values_for(kind, {}).make(42) for kind in VALUE_KINDS}  # type: ignore[arg-type]
    assert made["int"] == 42 and made["str"] == "value-00000042"
    assert made["record"] == Record(42, "user-42", 21.0, True)
    assert {k: _tracked(v) for k, v in made.items()} == {
        "int": 0, "str": 0, "tuple": 1, "record": 1, "json": 2,
    }  # fmt: skip
    gc.collect()  # a collection that sees a tuple of atoms stops tracking it
    assert not gc.is_tracked(made["tuple"])


@pytest.mark.parametrize("spec", ["c-swiss", "mmap"])
def test_bytes_only_maps_store_the_same_data_serialised(spec: str) -> None:
    m = parse_spec(spec).create()
    try:
        on_heap = {k: values_for(k, {}) for k in VALUE_KINDS}  # type: ignore[arg-type]
        for kind in VALUE_KINDS:
            off = values_for(kind, m)
            value, stored = on_heap[kind].make(7), off.make(7)
            if kind == "int":
                assert (off.form, stored) == ("object", 7)
            elif kind == "str":
                assert (off.form, stored) == ("utf8-bytes", value.encode())
            else:
                assert off.form == "json-bytes" and off.off_heap
                if kind == "record":
                    expected: Any = [value.id, value.name, value.score, value.active]
                else:
                    expected = json.loads(json.dumps(value))  # a tuple reads back as a list
                assert json.loads(stored) == expected
            m[1] = stored  # the map takes the form it was given
    finally:
        m.close()


def test_a_map_that_stores_neither_the_kind_nor_bytes_is_told_so() -> None:
    with pytest.raises(WorkloadError, match="stores int values: neither record values"):
        get_workload("insert").prepare(IntsOnly, 10, "seq-int", value_kind="record")
    with pytest.raises(WorkloadError, match="takes int values, not json"):
        get_workload("insert-batch").prepare(
            parse_spec("c-linear").create, 10, "seq-int", value_kind="json"
        )


@pytest.mark.parametrize("workload", ["insert", "mixed-50-50", "churn"])
def test_workloads_store_values_of_the_kind(workload: str) -> None:
    case = get_workload(workload).prepare(parse_spec("dict").create, 200, "short-str", 0, "record")
    try:
        case.reset()
        case.run()
        assert len(case.map) > 0
        assert all(isinstance(case.map[k], Record) for k in case.map)
    finally:
        case.close()


def _gen2(spec: str, workload: str, value_kind: str, size: int) -> dict[str, float]:
    factory = parse_spec(spec).create
    case = get_workload(workload).prepare(factory, size, "random-int", 0, value_kind)
    try:
        return {m.name: m.value for m in GcPauses().collect(case)}
    finally:
        case.close()


def test_the_write_stream_builds_fresh_values_and_keeps_the_size() -> None:
    case = get_workload("write-heavy").prepare(_dict, 1000, "seq-int", 0, "json")
    try:
        assert case.ops == 50_000 and case.values == []  # the case holds no value itself
        case.reset()
        before = {k: id(v) for k, v in case.map.items()}  # type: ignore[attr-defined]
        case.run()
        assert len(case.map) == 1000
        assert sum(id(case.map[k]) != before[k] for k in before) > 900  # rewritten
    finally:
        case.close()


def test_collector_tunings_apply_after_the_fill_and_are_undone_on_close() -> None:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    for workload, check in (
        ("write-heavy-frozen", lambda: gc.get_freeze_count() >= frozen + 1000),
        ("write-heavy-raised", lambda: gc.get_threshold() == RAISED_THRESHOLDS),
    ):
        case = get_workload(workload).prepare(_dict, 1000, "seq-int", 0, "record")
        try:
            case.reset()
            assert check(), workload
        finally:
            case.close()
        assert gc.get_threshold() == thresholds
        assert gc.get_freeze_count() in (0, frozen)  # 3.12 starts with objects of its own frozen


def test_values_off_the_heap_spare_the_collector() -> None:
    # Full collections examine what the map holds: records in a dict, not bytes in a C table.
    on_heap = _gen2("dict", "write-heavy", "record", 20_000)
    off_heap = _gen2("c-swiss", "write-heavy", "record", 20_000)
    assert on_heap["gc_tracked_objects"] - off_heap["gc_tracked_objects"] >= 19_000
    assert on_heap["gc_collections_gen0"] > 0 and off_heap["gc_collections_gen0"] > 0


def test_the_case_name_carries_a_value_kind_other_than_int() -> None:
    records = CaseId("a/b.py:M", "write-heavy", "random-int", 1000, value_kind="record")
    assert str(records) == "a/b.py:M/write-heavy/random-int/1000/record"
    assert CaseId.parse(str(records)) == records
    ints = CaseId("a/b.py:M", "insert", "seq-int", 10)
    assert str(ints) == "a/b.py:M/insert/seq-int/10" and CaseId.parse(str(ints)) == ints


def test_every_plan_gives_every_map_values_the_collector_scans() -> None:
    maps = [("dict", "dict"), ("c-swiss", "c-swiss"), ("mmap", "mmap")]
    for plan in (QUICK_PLAN, DEFAULT_PLAN):
        cases = make_cases(maps, plan.workloads, plan.key_kinds, plan.sizes, 0, ("int",),
                           plan.reference_cases)  # fmt: skip
        for label, _ in maps:
            kinds = {c.value_kind for c in cases if c.map == label}
            assert kinds & set(REFERENCE_KINDS), (plan, label)
