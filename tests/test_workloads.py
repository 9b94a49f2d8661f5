"""Workloads: deterministic keys, correct operation counts, and map state before and after runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mapbench.errors import MapbenchError
from mapbench.measure.timing import time_batches
from mapbench.protocol import Map
from mapbench.registry import parse_spec
from mapbench.workloads import (
    DELETE,
    INSERT,
    KEY_KINDS,
    READ,
    WORKLOADS,
    Case,
    WorkloadError,
    get_workload,
    make_keys,
)

N = 600


def _dict() -> Map:
    return parse_spec("dict").create()


def _sharded() -> Map:
    return parse_spec("sharded,shards=4").create()


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_keys_are_distinct_typed_and_prefix_stable(kind: str) -> None:
    keys = make_keys(kind, 2000, seed=5)
    assert len(set(keys)) == 2000
    assert keys[:700] == make_keys(kind, 700, seed=5)
    expected = {"seq-int": int, "random-int": int, "bytes": bytes}.get(kind, str)
    assert all(type(k) is expected for k in keys)
    if kind != "seq-int":
        assert make_keys(kind, 50, seed=6) != keys[:50]
    if kind == "random-int":
        assert all(-(2**63) <= k < 2**63 for k in keys)  # type: ignore[operator]
        assert min(keys) < 0 < max(keys)  # type: ignore[type-var]


def test_keys_do_not_depend_on_the_hash_seed() -> None:
    code = "from mapbench.workloads import make_keys; print(make_keys('short-str', 5, 1))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1
    assert outs.pop().strip() == str(make_keys("short-str", 5, 1))


def test_bad_names_and_sizes_are_clear_mapbench_errors() -> None:
    with pytest.raises(MapbenchError, match="known: insert"):
        get_workload("nope")
    with pytest.raises(WorkloadError, match="known: seq-int"):
        make_keys("floats", 3)
    with pytest.raises(WorkloadError, match="positive integer"):
        get_workload("insert").prepare(_dict, 0, "seq-int")
    with pytest.raises(WorkloadError, match="thread-safe"):
        get_workload("concurrent").prepare(_dict, 10, "seq-int")


def _run(case: Case) -> tuple[int, int]:
    case.reset()
    before = len(case.map)
    case.run()
    return before, len(case.map)


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_insert_fills_an_empty_map_every_run(kind: str) -> None:
    case = get_workload("insert").prepare(_dict, N, kind, seed=1)
    try:
        assert case.ops == N
        for _ in range(2):
            assert _run(case) == (0, N)
        assert dict(case.map.items()) == {  # type: ignore[attr-defined]
            k: i
            for i, k in enumerate(make_keys(kind, N, 1))  # int values: the i-th key's is i
        }
    finally:
        case.close()


def test_lookup_delete_iterate_states() -> None:
    expected = {
        "lookup-hit": (N, N),
        "lookup-miss": (N, N),
        "delete": (N, 0),
        "iterate": (N, N),
        "snapshot": (N, N),
        "churn": (N, N),
    }
    for name, sizes in expected.items():
        case = WORKLOADS[name].prepare(_dict, N, "random-int")
        try:
            assert _run(case) == sizes, name
            assert _run(case) == sizes, name  # reset() restores what run() consumed
        finally:
            case.close()


def test_lookup_miss_probes_are_absent_and_hits_present() -> None:
    hit = get_workload("lookup-hit").prepare(_dict, N, "short-str")
    miss = get_workload("lookup-miss").prepare(_dict, N, "short-str")
    try:
        for case in (hit, miss):
            case.reset()
        assert all(k in hit.map for k in hit.probes)  # type: ignore[attr-defined]
        assert not any(k in miss.map for k in miss.probes)  # type: ignore[attr-defined]
        assert sorted(hit.probes) == sorted(hit.keys)  # type: ignore[attr-defined]
    finally:
        hit.close()
        miss.close()


@pytest.mark.parametrize(("name", "reads"), [("mixed-90-10", 0.9), ("mixed-50-50", 0.5)])
def test_mixed_plans_have_the_right_mix_and_keep_the_size(name: str, reads: float) -> None:
    case = get_workload(name).prepare(_dict, 4000, "seq-int")
    try:
        codes = case.plan.codes  # type: ignore[attr-defined]
        assert codes.count(READ) / len(codes) == pytest.approx(reads, abs=0.03)
        assert abs(codes.count(INSERT) - codes.count(DELETE)) <= 1
        before, after = _run(case)  # every read hits and every delete finds its key
        assert abs(after - before) <= 1
    finally:
        case.close()


def test_churn_alternates_delete_and_insert_at_steady_size() -> None:
    case = get_workload("churn").prepare(_dict, N, "bytes")
    try:
        assert case.ops == 2 * N
        case.reset()
        case.run()
        assert set(case.map) == set(make_keys("bytes", 2 * N)[N:])
    finally:
        case.close()


def test_latencies_time_every_operation_or_batch() -> None:
    case = get_workload("insert").prepare(_dict, N, "seq-int")
    try:
        case.reset()
        times = case.run_batches(time_batches, 1)
        assert len(times) == N and all(t >= 0 for t in times)
        assert len(case.map) == N
        case.reset()
        assert len(case.run_batches(time_batches, 100)) == 6
        assert len(case.map) == N
    finally:
        case.close()


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_every_workload_declares_the_operations_of_its_runs(size: int) -> None:
    for name, workload in WORKLOADS.items():
        needs_c = "batch" in name or "presized" in name
        factory = parse_spec("c-linear" if needs_c else "sharded").create
        case = workload.prepare(factory, size, "random-int")
        try:
            assert case.ops == workload.ops(size), name
        finally:
            case.close()


@pytest.mark.parametrize("op", ["insert", "lookup-hit", "lookup-miss", "delete"])
def test_batch_workloads_do_what_their_mapping_twins_do(op: str) -> None:
    def state(name: str) -> tuple[int, int]:
        case = get_workload(name).prepare(parse_spec("c-linear").create, N, "random-int")
        try:
            case.reset()
            case.run()
            m = case.map
            return len(m), sum(1 for k in case.keys if k in m)
        finally:
            case.close()

    assert state(f"{op}-batch") == state(op)


def test_batch_workloads_take_int_keys_only() -> None:
    with pytest.raises(WorkloadError, match="takes seq-int, random-int keys, not short-str"):
        get_workload("lookup-hit-batch").prepare(parse_spec("c-linear").create, 10, "short-str")


def test_snapshot_copies_a_dict_and_uses_snapshot_when_offered() -> None:
    for spec in ("dict", "cow"):
        case = get_workload("snapshot").prepare(parse_spec(spec).create, N, "seq-int")
        try:
            case.reset()
            case.run()
            snap = case.snapshot  # type: ignore[attr-defined]
            assert dict(snap) == {i: i for i in range(N)}
            assert (type(snap) is dict) == (spec == "dict")
        finally:
            case.close()


def test_concurrent_runs_threads_and_reports_their_errors() -> None:
    case = get_workload("concurrent").prepare(_sharded, 2000, "random-int")
    try:
        assert len(case.plans) == 4  # type: ignore[attr-defined]
        assert case.ops == 2000
        before, after = _run(case)
        assert before == 2000 and abs(after - before) <= 4
        case.reset()
        assert len(case.run_batches(time_batches, 50)) == 4 * 10
        case.reset()
        case.map.clear()  # the plans' reads now miss: the worker's KeyError reaches the caller
        with pytest.raises(KeyError):
            case.run()
    finally:
        case.close()
    assert all(not w.is_alive() for w in case._workers)  # type: ignore[attr-defined]


def test_cases_close_their_maps() -> None:
    closed: list[int] = []

    class Tracked(dict):  # type: ignore[type-arg]
        key_types = (object,)
        value_types = (object,)

        def close(self) -> None:
            closed.append(id(self))

    case = get_workload("delete").prepare(Tracked, 10, "seq-int")
    case.reset()
    case.run()
    case.reset()  # a destructive run makes reset() close the old map and create a new one
    case.close()
    assert len(closed) == 2
