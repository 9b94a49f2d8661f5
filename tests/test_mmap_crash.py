"""SIGKILL a writer at hundreds of random moments; every reopen must show exactly a flushed state.

Each round forks a child that opens the map (recovering from the previous kill), applies a
seeded random sequence of sets, deletes, bulk inserts (growth), clears, flushes and compactions,
and publishes its progress in shared memory. The parent kills it with SIGKILL as soon as it
reaches a randomly chosen operation, then opens the file with full verification and requires
the contents to equal, exactly, the state after the last flush the child reported (or the one
it was completing when killed). So no flushed key is lost, nothing unflushed or garbled appears,
and the next round proves the map is still usable for writing.
"""

from __future__ import annotations

import collections
import mmap
import os
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mapbench.impls.mmap_map import MmapMap

KILLS_REQUIRED = 220
OPS_PER_ROUND = 400
# Shared-memory words: phase, completed flushes, index of the operation under way.
PHASE, FLUSHES, OP_INDEX = 0, 1, 2
PHASES = ["fork", "open", "set", "delete", "bulk", "unbulk", "clear", "flush", "compact", "done"]
DONE = PHASES.index("done")
GROWTH = len(PHASES)  # reported while a rehash (growth or tombstone purge) runs

Op = tuple[Any, ...]


def random_key(rng: random.Random) -> Any:
    n = rng.randrange(600)
    return rng.choice([n, -n * 2**40, f"s{n}", b"b%d" % n])


def random_value(rng: random.Random) -> Any:
    if rng.random() < 0.5:
        return rng.randrange(-(2**63), 2**63)
    return rng.randbytes(rng.randrange(40))


def ops_for(round_no: int) -> list[Op]:
    """The operations of one round; the same seed gives the same list in child and parent."""
    rng = random.Random(round_no)
    ops: list[Op] = []
    for _ in range(OPS_PER_ROUND):
        r = rng.random()
        if r < 0.26:
            ops.append(("delete", random_key(rng)))
        elif r < 0.34:
            ops.append(("bulk", rng.randrange(8) * 10**6, rng.randrange(100, 800)))
        elif r < 0.38:
            ops.append(("unbulk", rng.randrange(8) * 10**6, rng.randrange(100, 800)))
        elif r < 0.385:
            ops.append(("clear",))
        elif r < 0.415:
            ops.append(("flush",))
        elif r < 0.418:
            ops.append(("compact",))
        else:
            ops.append(("set", random_key(rng), random_value(rng)))
    return ops


def apply(m: Any, op: Op) -> bool:
    """Apply one operation to a map or a dict; True if it is a commit point."""
    kind = op[0]
    if kind == "set":
        m[op[1]] = op[2]
    elif kind == "delete":
        m.pop(op[1], None)
    elif kind == "bulk":
        for i in range(op[1], op[1] + op[2]):
            m[i] = i
    elif kind == "unbulk":
        for i in range(op[1], op[1] + op[2]):
            m.pop(i, None)
    elif kind == "clear":
        m.clear()
    elif isinstance(m, MmapMap):
        m.flush() if kind == "flush" else m.compact()
    return kind in ("flush", "compact")


def run_child(path: Path, round_no: int, shared: memoryview) -> None:
    """The writer: report the phase (and rehashes) in shared memory, then get killed."""

    def reporting(method: Callable[..., Any], phase: int) -> Callable[..., Any]:
        def wrapper(self: MmapMap, *args: Any, **kwargs: Any) -> Any:
            saved = shared[PHASE]
            shared[PHASE] = phase
            result = method(self, *args, **kwargs)
            shared[PHASE] = saved
            return result

        return wrapper

    MmapMap._rehash = reporting(MmapMap._rehash, GROWTH)  # type: ignore[method-assign]
    shared[PHASE] = PHASES.index("open")
    m = MmapMap(path)
    for index, op in enumerate(ops_for(round_no)):
        shared[OP_INDEX] = index
        shared[PHASE] = PHASES.index(op[0])
        if apply(m, op):
            shared[FLUSHES] += 1
    shared[PHASE] = PHASES.index("done")


def kill_at(
    pid: int, shared: memoryview, op_index: int, delay: float, deadline: float, *, in_phase: int = 0
) -> int:
    """SIGKILL the child `delay` seconds after it reaches `op_index` (and, if `in_phase` is
    given, once it is in that phase); returns its phase then, DONE if it finished first.

    A negative `op_index` kills while the child opens the map (and recovers it).
    """

    def reached() -> bool:
        if shared[PHASE] == DONE:
            return True
        if in_phase:
            return shared[PHASE] == in_phase
        return shared[OP_INDEX] >= op_index and shared[PHASE] != 0

    while not reached():
        ended, status = os.waitpid(pid, os.WNOHANG)
        assert not ended, f"the child ended by itself with status {status} before the kill"
        assert time.monotonic() < deadline, "the child made no progress"
        time.sleep(0)
    time.sleep(delay)
    phase = shared[PHASE]
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0, f"child failed: {status}"
    return phase


@pytest.mark.slow
def test_sigkill_at_random_points_loses_no_flushed_key(tmp_path: Path) -> None:
    # After SIGKILL the page cache keeps what the process wrote, so tmpfs (where msync costs
    # nothing) tests the same thing as a disk, many times faster.
    shm = Path("/dev/shm")
    where = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    try:
        crash_rounds(where / "crash.map")
    finally:
        shutil.rmtree(where) if where != tmp_path else None


def crash_rounds(path: Path) -> None:
    MmapMap(path).close()
    shared_memory = mmap.mmap(-1, mmap.PAGESIZE)  # MAP_SHARED: the child's writes reach us
    shared = memoryview(shared_memory).cast("q")
    rng = random.Random(2024)
    state: dict[Any, Any] = {}
    phases: collections.Counter[str] = collections.Counter()
    kills = round_no = 0
    while kills < KILLS_REQUIRED:
        round_no += 1
        assert round_no < 3 * KILLS_REQUIRED, f"too few kills landed: {dict(phases)}"
        ops = ops_for(round_no)
        flushed = [dict(state)]  # the state after each commit point of this round
        for op in ops:
            if apply(state, op):
                flushed.append(dict(state))
        shared[PHASE] = shared[FLUSHES] = 0
        shared[OP_INDEX] = -1
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns to pytest
            try:
                run_child(path, round_no, shared)
            except BaseException:
                import traceback

                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        target = rng.randrange(-100, len(ops))
        delay = rng.uniform(0, 0.0002) if target < 0 else 0.0  # opening takes about 0.3 ms
        # A rehash takes a small share of a round's time: one round in eight waits for one, so
        # that kills land in growth however the two processes are scheduled.
        in_phase = GROWTH if rng.random() < 0.125 else 0
        phase = kill_at(pid, shared, target, delay, time.monotonic() + 20, in_phase=in_phase)
        if PHASES[phase % GROWTH] not in ("fork", "done") or phase == GROWTH:
            kills += 1
            phases["growth" if phase == GROWTH else PHASES[phase]] += 1
        reported = shared[FLUSHES]
        with MmapMap(path, writer=False) as reader:
            got = dict(reader.items())
        assert got in flushed[reported : reported + 2], (
            f"round {round_no}: after {reported} flushes (killed in {PHASES[phase % GROWTH]}), "
            f"the reopened map matches no flushed state"
        )
        state = got
    shared.release()
    shared_memory.close()
    with MmapMap(path) as m:  # still a working writer after all the kills
        m["final"] = b"ok"
        m.flush()
        assert dict(m.items()) == {**state, "final": b"ok"}
    # Kills must have landed in every kind of work, growth included.
    landed = {
        "open": phases["open"],
        "inserts": phases["set"] + phases["bulk"],
        "deletes": phases["delete"] + phases["unbulk"],
        "growth": phases["growth"],
        "flush": phases["flush"],
    }
    assert min(landed.values()) >= 5, f"too few kills in some kind of work: {dict(phases)}"
    print(f"{kills} kills in {round_no} rounds; by phase: {dict(phases)}")


CREATION_KILLS_REQUIRED = 50


@pytest.mark.slow
def test_sigkill_during_creation_always_leaves_an_openable_file(tmp_path: Path) -> None:
    """Kill a writer while it creates a new map: the path then holds a complete map or nothing.

    Each round forks a child that creates the map with the default open-or-create (finding the
    leftovers of earlier kills beside it) and kills it at a random moment of the creation. Then
    the path, if it exists, must open as a verified map, and a copy of the directory must open
    with the default open-or-create, which also removes every leftover.
    """
    shm = Path("/dev/shm")
    where = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path
    try:
        creation_rounds(where)
    finally:
        shutil.rmtree(where) if where != tmp_path else None


def creation_rounds(where: Path) -> None:
    live, check = where / "live", where / "check"
    live.mkdir()
    path = live / "new.map"
    shared_memory = mmap.mmap(-1, mmap.PAGESIZE)
    shared = memoryview(shared_memory).cast("q")
    rng = random.Random(17)
    # Bigger tables take longer to create; calibrate the kill delays on an undisturbed run.
    capacities = [8, 20_000, 200_000]
    seconds = {}
    for cap in capacities:
        start = time.perf_counter()
        MmapMap(where / f"{cap}.map", capacity=cap).close()
        seconds[cap] = time.perf_counter() - start
        os.unlink(where / f"{cap}.map")
    kills = rounds = existed = 0
    while kills < CREATION_KILLS_REQUIRED:
        rounds += 1
        assert rounds < 8 * CREATION_KILLS_REQUIRED, f"only {kills} kills landed in creation"
        path.unlink(missing_ok=True)  # leftovers of earlier kills stay for the child to meet
        cap = capacities[rounds % len(capacities)]
        shared[0] = 0
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns to pytest
            try:
                shared[0] = 1
                MmapMap(path, capacity=cap)
                shared[0] = 2
                time.sleep(60)
            finally:
                os._exit(1)
        deadline = time.monotonic() + 20
        while shared[0] == 0:
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0)
        time.sleep(rng.uniform(0, 1.2 * seconds[cap]))
        in_creation = shared[0] == 1
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += in_creation
        if path.exists():  # complete, or not there at all
            existed += 1
            with MmapMap(path, create=False, writer=False) as reader:
                assert len(reader) == 0 and reader.capacity >= cap
        shutil.rmtree(check, ignore_errors=True)
        shutil.copytree(live, check)
        with MmapMap(check / "new.map") as m:  # the default open-or-create always works
            m["after"] = b"kill"
        assert os.listdir(check) == ["new.map"], "leftovers are removed by the next writer"
        with MmapMap(check / "new.map", writer=False) as reader:
            assert dict(reader.items()) == {"after": b"kill"}
    shared.release()
    shared_memory.close()
    assert 0 < existed < rounds, "kills must land both before and after the file appears"
    print(f"{kills} kills inside creation in {rounds} rounds; the file existed after {existed}")
