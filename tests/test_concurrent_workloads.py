"""Concurrent workloads: what each thread does, thread counts, roles, and the latency split."""

from __future__ import annotations

import sys

import pytest

from mapbench.environment import environment
from mapbench.measure.latency import Latency
from mapbench.measure.timing import time_batches, time_runs
from mapbench.protocol import Map
from mapbench.registry import parse_spec
from mapbench.workloads import GET, READ, BulkWrites, Plan, WorkloadError, batch_roles, get_workload

N = 400


def syncmap() -> Map:
    return parse_spec("syncmap").create()


@pytest.mark.parametrize(("name", "reads"), [("concurrent-99-1", 0.99), ("concurrent-10-90", 0.1)])
def test_read_fractions_are_those_named(name: str, reads: float) -> None:
    case = get_workload(name).prepare(syncmap, 4000, "random-int")
    try:
        roles = case.batch_roles(1)
        assert roles is not None and len(roles) == case.ops == 4000
        assert roles.count("read") / len(roles) == pytest.approx(reads, abs=0.03)
    finally:
        case.close()


@pytest.mark.parametrize("threads", [1, 2, 4, 8])
def test_a_threads_suffix_runs_that_many_threads(threads: int) -> None:
    workload = get_workload(f"concurrent-95-5-t{threads}")
    assert workload.name == f"concurrent-95-5-t{threads}" and workload.params["threads"] == threads
    case = workload.prepare(syncmap, N, "seq-int")
    try:
        assert len(case.programs) == threads  # type: ignore[attr-defined]
        assert case.ops == workload.ops(N) == N // threads * threads
        case.reset()
        case.run()
    finally:
        case.close()


def test_a_threads_suffix_needs_a_threaded_workload_and_a_sane_count() -> None:
    with pytest.raises(WorkloadError, match="NAME-tN"):
        get_workload("insert-t4")
    with pytest.raises(WorkloadError, match="threads must be 1 to 64, not 0"):
        get_workload("concurrent-t0")
    with pytest.raises(WorkloadError, match="one writer"):
        get_workload("long-writer-update-t1").prepare(syncmap, N, "seq-int")


@pytest.mark.parametrize("bulk", ["update", "clear"])
def test_the_long_writer_rewrites_every_key_while_the_others_read(bulk: str) -> None:
    workload = get_workload(f"long-writer-{bulk}")
    case = workload.prepare(parse_spec("rwlock").create, N, "seq-int")
    try:
        writer, *readers = case.programs  # type: ignore[attr-defined]
        assert (
            isinstance(writer, BulkWrites)
            and writer.rounds == 4
            and writer.clear == (bulk == "clear")
        )
        assert len(readers) == 3 and all(set(r.codes) == {GET} for r in readers)
        assert case.ops == workload.ops(N) == 3 * N + 4
        case.reset()
        case.run()
        assert {k: case.map[k] for k in case.map} == {k: -k for k in range(N)}
        roles = case.batch_roles(1)
        assert roles == ["write"] * 4 + ["read"] * (3 * N)
    finally:
        case.close()


def test_read_after_write_reads_each_new_key_right_after_inserting_it() -> None:
    case = get_workload("read-after-write").prepare(syncmap, N, "seq-int")
    try:
        plan = case.plan  # type: ignore[attr-defined]
        assert plan.codes[:4] == [1, READ, 1, READ] and plan.keys[0] == plan.keys[1] == N
        case.reset()
        m = case.map
        assert m.counters()["promotions"] == 1  # type: ignore[attr-defined]  # primed
        case.run()
        assert len(m) == 2 * N
        assert m.counters()["misses"] > 0  # type: ignore[attr-defined]
    finally:
        case.close()


@pytest.mark.parametrize("spec", ["syncmap", "rwlock", "locked", "sharded", "cow"])
def test_delete_iterate_empties_every_concurrent_map(spec: str) -> None:
    case = get_workload("delete-iterate").prepare(parse_spec(spec).create, N, "random-int")
    try:
        case.reset()
        assert len(case.run_batches(time_batches, 7)) == -(-N // 7)
        assert len(case.map) == 0
    finally:
        case.close()


def test_batches_mixing_reads_and_writes_are_mixed() -> None:
    plan = Plan([READ, READ, 1, READ], [1, 2, 3, 4])
    assert batch_roles(plan, 2) == ["read", "mixed"]
    assert batch_roles(plan, 1) == ["read", "read", "write", "read"]


def test_latency_reports_reads_and_writes_apart() -> None:
    case = get_workload("long-writer-update-t2").prepare(
        parse_spec("locked").create, 2000, "seq-int"
    )
    try:
        got = {m.name: m for m in Latency().collect(case)}
    finally:
        case.close()
    for role, count in (("read", 2000), ("write", 4)):
        assert f"{count} timed batches of 1 {role} op(s)" in got[f"latency_{role}_p50"].note
        p50, p99, top = (got[f"latency_{role}_{q}"].value for q in ("p50", "p99", "max"))
        assert 0 < p50 <= p99 <= top
    # the writer's operation is one update() of 2,000 pairs: slower than any one read's median
    assert got["latency_write_p50"].value > got["latency_read_p50"].value


def test_plain_workloads_have_no_roles() -> None:
    case = get_workload("insert").prepare(syncmap, 10, "seq-int")
    try:
        assert case.batch_roles(1) is None
        names = {m.name for m in Latency().collect(case)}
        assert not any(n.startswith(("latency_read", "latency_write")) for n in names)
    finally:
        case.close()


def test_the_environment_records_the_gil_and_the_switch_interval() -> None:
    env = environment()
    assert env["switch_interval"] == sys.getswitchinterval()
    assert env["gil_enabled"] is getattr(sys, "_is_gil_enabled", lambda: True)()
    assert isinstance(env["free_threaded_build"], bool)


def test_a_threaded_case_counts_every_threads_cpu_time() -> None:
    case = get_workload("concurrent-95-5").prepare(parse_spec("locked").create, 20_000, "seq-int")
    try:
        runs = time_runs(case, reps=2)
    finally:
        case.close()
    # 20,000 locked operations cost milliseconds of the workers' CPU; the measuring thread only
    # waits on a barrier, so its own clock would show almost nothing.
    assert min(runs.cpu) > 2e-3


def test_a_free_threaded_build_files_its_results_under_its_own_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sysconfig

    from mapbench import environment as env_module
    from mapbench.history.changepoints import _minor

    real = sysconfig.get_config_var
    monkeypatch.setattr(
        sysconfig, "get_config_var", lambda n: 1 if n == "Py_GIL_DISABLED" else real(n)
    )
    assert env_module.python_label().endswith("t") and env_module.free_threaded_build()
    assert _minor("3.13.0t") == "3.13t" and _minor("3.12.1") == "3.12"
