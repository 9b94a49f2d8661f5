"""Named, deterministic workloads: what one benchmark run does to a map, keys built up front.

A `Workload` is bound to a map factory, a size, a key kind and a value kind by `prepare()`,
which returns a `Case`. All keys, values and operation plans are generated in `prepare()`;
`Case.reset()` (untimed) brings the map to the state `Case.run()` (the measured region, nothing
else) expects. The GC workloads are the exception on purpose: each write builds its value inside
the run, as an application does, so the collector sees new objects arrive. Nothing here reads a
clock: `mapbench.measure` times cases from outside.
"""

from __future__ import annotations

import gc
import random
import sys
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from types import MappingProxyType
from typing import Any, TypeVar, cast

from mapbench.errors import MapbenchError
from mapbench.protocol import CAPABILITIES, BatchOps, Key, Map, Presizable, Snapshottable
from mapbench.values import (
    DEFAULT_VALUE_KIND,
    INT_VALUES,
    VALUE_KINDS,
    ValueKindError,
    Values,
    values_for,
)

KEY_KINDS = ("seq-int", "random-int", "short-str", "long-str", "bytes")
INT_KEY_KINDS = ("seq-int", "random-int")  # what batch calls take: buffers of int64
SIZES = (1_000, 10_000, 100_000, 1_000_000)

# Operation codes of a plan (mixed, churn and concurrent workloads).
READ, INSERT, DELETE = 0, 1, 2

_CHUNK = (
    4096  # keys drawn per step; fixed, so make_keys(kind, n) is a prefix of make_keys(kind, 2n)
)

T = TypeVar("T")
MapFactory = Callable[[], Map]
RunRange = Callable[[int, int], None]
# Runs operations `0..ops-1` through `run_range` in batches of `batch` (the second argument is
# `ops`, the third `batch`) and returns one duration per batch: the clock is the caller's.
BatchTimer = Callable[[RunRange, int, int], list[int]]


class WorkloadError(MapbenchError, ValueError):
    """An unknown workload or key kind, a bad size, or a map lacking a required capability."""


def make_keys(kind: str, n: int, seed: int = 0) -> list[Key]:
    """`n` distinct keys of `kind`, the same for the same (kind, n, seed) in every process."""
    if kind not in KEY_KINDS:
        raise WorkloadError(f"unknown key kind {kind!r}; known: {', '.join(KEY_KINDS)}")
    if n < 0:
        raise WorkloadError(f"key count must be >= 0, not {n}")
    if kind == "seq-int":
        return list(range(n))
    seen: set[Key] = set()
    keys: list[Key] = []
    # A str seed is hashed with SHA-512 by `random`, so it does not depend on PYTHONHASHSEED.
    for key in _stream(kind, random.Random(f"mapbench-keys/{kind}/{seed}")):
        if len(keys) == n:
            break
        if key not in seen:
            seen.add(key)
            keys.append(key)
    return keys


def _stream(kind: str, rng: random.Random) -> Iterator[Key]:
    """An endless stream of (possibly repeated) random keys of `kind`, drawn in fixed chunks."""
    while True:
        if kind == "random-int":
            ints = array("q")
            ints.frombytes(rng.randbytes(8 * _CHUNK))
            if sys.byteorder == "big":  # same keys on every machine
                ints.byteswap()
            yield from ints.tolist()
        elif kind == "bytes":
            raw = rng.randbytes(16 * _CHUNK)
            yield from (raw[i : i + 16] for i in range(0, len(raw), 16))
        else:
            width = 10 if kind == "short-str" else 64  # hex characters per key
            text = rng.randbytes(width // 2 * _CHUNK).hex()
            yield from (text[i : i + width] for i in range(0, len(text), width))


def _shuffled(items: Sequence[T], seed: int, salt: str) -> list[T]:
    out = list(items)
    random.Random(f"mapbench-order/{salt}/{seed}").shuffle(out)
    return out


def _span(seq: Sequence[T], start: int, stop: int) -> Iterable[T]:
    # The whole run iterates the list itself; a prefix (the allocation pass runs halves and
    # quarters) an islice, whose one object does not grow with the range; only latency batches
    # pay for a (short) slice.
    if start == 0:
        return seq if stop == len(seq) else islice(seq, stop)
    return seq[start:stop]


class Case:
    """One workload bound to one map factory, size and key kind; keys are built before any run.

    Subclasses implement `run_range(start, stop)`, which performs operations `start..stop-1` of a
    run; ranges are called in order from 0 after each `reset()`.
    """

    fill = True  # reset() loads `keys` into the map
    destructive = True  # run() changes the map, so reset() must build a fresh one
    values_of: Values  # the value kind, in the form this case's map stores it
    values: list[Any]  # the fill's values, built ahead (see `fill_items`)

    def __init__(self, make_map: MapFactory, first: Map, keys: list[Key], ops: int) -> None:
        self.make_map = make_map
        self.keys = keys
        self.ops = ops
        self._map: Map | None = first
        self._filled = False
        self._dirty = False
        self.use_values(INT_VALUES)  # `prepare()` binds the case's value kind

    def use_values(self, values: Values) -> None:
        """Store values of this kind and form; builds the fill's values now (untimed)."""
        self.values_of = values
        self.values = values.many(len(self.keys))

    @property
    def map(self) -> Map:
        """The map `run()` acts on."""
        if self._map is None:
            raise RuntimeError("the case is closed")
        return self._map

    def reset(self) -> None:
        """Untimed: bring the map to the state `run()` expects (fresh after a destructive run)."""
        if self._dirty or self._map is None:
            self._replace_map()
        if self.fill and not self._filled:
            self.map.update(self.fill_items())
            self._filled = True

    def fill_items(self) -> Iterable[tuple[Key, Any]]:
        """The (key, value) pairs a fill stores."""
        return zip(self.keys, self.values, strict=True)

    def run(self) -> None:
        """The measured region: all `ops` operations, nothing else."""
        self._dirty = self.destructive
        self.run_range(0, self.ops)

    def run_batches(self, timer: BatchTimer, batch: int) -> list[int]:
        """One run with `timer` around each batch of `batch` operations; its durations."""
        self._dirty = self.destructive
        return timer(self.run_range, self.ops, batch)

    def close(self) -> None:
        """Release the map (closes it); the case cannot run afterwards."""
        if self._map is not None:
            self._map.close()
            self._map = None

    def _replace_map(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        self._map = self.make_map()
        self._filled = self._dirty = False

    def run_range(self, start: int, stop: int) -> None:
        """Operations `start..stop-1` of a run (each subclass says what one operation is)."""
        raise NotImplementedError


class InsertCase(Case):
    """Insert every key into an empty map, optionally reserved to the final size first."""

    fill = False

    def __init__(self, make_map: MapFactory, first: Map, keys: list[Key], presize: bool) -> None:
        super().__init__(make_map, first, keys, len(keys))
        self.presize = presize

    def reset(self) -> None:
        super().reset()
        # `fill` is off, so `_filled` is free to mean "reserved" for this fresh map.
        if self.presize and not self._filled:
            if not isinstance(self.map, Presizable):
                raise WorkloadError("insert-presized needs a map with reserve(n)")
            self.map.reserve(len(self.keys))
            self._filled = True

    def run_range(self, start: int, stop: int) -> None:
        m = self.map
        for k, v in zip(
            _span(self.keys, start, stop), _span(self.values, start, stop), strict=True
        ):
            m[k] = v


class LookupCase(Case):
    """Look up `probes` (stored keys for hits, absent keys for misses) in a filled map."""

    destructive = False

    def __init__(
        self, make_map: MapFactory, first: Map, keys: list[Key], probes: list[Key], hit: bool
    ) -> None:
        super().__init__(make_map, first, keys, len(probes))
        self.probes = probes
        self.hit = hit

    def run_range(self, start: int, stop: int) -> None:
        m = self.map
        if self.hit:
            for k in _span(self.probes, start, stop):
                m[k]
        else:
            for k in _span(self.probes, start, stop):
                k in m  # noqa: B015 - the lookup is the point


class DeleteCase(Case):
    """Delete every stored key, in a shuffled order, from a filled map."""

    def __init__(self, make_map: MapFactory, first: Map, keys: list[Key], order: list[Key]) -> None:
        super().__init__(make_map, first, keys, len(order))
        self.order = order

    def run_range(self, start: int, stop: int) -> None:
        m = self.map
        for k in _span(self.order, start, stop):
            del m[k]


@dataclass(frozen=True)
class Plan:
    """A fixed sequence of operations: `codes[i]` (READ/INSERT/DELETE) applied to `keys[i]`."""

    codes: list[int]
    keys: list[Key]

    def apply(self, m: Map, start: int, stop: int, values: Sequence[Any]) -> None:
        """Perform operations `start..stop-1` on `m` (reads must hit, deletes must find the key);
        an insert at operation `i` stores `values[i]`."""
        for code, k, v in zip(
            _span(self.codes, start, stop),
            _span(self.keys, start, stop),
            _span(values, start, stop),
            strict=True,
        ):
            if code == READ:
                m[k]
            elif code == INSERT:
                m[k] = v
            else:
                del m[k]


def mixed_plan(
    rng: random.Random, present: list[Key], fresh: list[Key], ops: int, read_fraction: float
) -> Plan:
    """Reads of present keys; writes alternate inserting a fresh key and deleting a present one.

    The size stays within one of the start, and every read hits, because presence is tracked
    while the plan is built (untimed).
    """
    present = list(present)
    fresh_iter = iter(fresh)
    codes: list[int] = []
    keys: list[Key] = []
    insert_next = True
    for _ in range(ops):
        if present and rng.random() < read_fraction:
            codes.append(READ)
            keys.append(present[rng.randrange(len(present))])
        elif insert_next or not present:
            codes.append(INSERT)
            key = next(fresh_iter)
            keys.append(key)
            present.append(key)
            insert_next = False
        else:
            i = rng.randrange(len(present))
            present[i], present[-1] = present[-1], present[i]
            codes.append(DELETE)
            keys.append(present.pop())
            insert_next = True
    return Plan(codes, keys)


class PlanCase(Case):
    """Apply one precomputed plan to a filled map (mixed read/write and churn workloads)."""

    def __init__(self, make_map: MapFactory, first: Map, keys: list[Key], plan: Plan) -> None:
        super().__init__(make_map, first, keys, len(plan.codes))
        self.plan = plan

    def use_values(self, values: Values) -> None:
        super().use_values(values)
        self.op_values = values.many(self.ops, len(self.keys))  # inserted data is new data

    def run_range(self, start: int, stop: int) -> None:
        self.plan.apply(self.map, start, stop, self.op_values)


class IterateCase(Case):
    """Iterate over every key of a filled map."""

    destructive = False

    def __init__(self, make_map: MapFactory, first: Map, keys: list[Key]) -> None:
        super().__init__(make_map, first, keys, len(keys))
        self._iter: Iterator[Any] = iter(())

    def run_range(self, start: int, stop: int) -> None:
        if start == 0:
            self._iter = iter(self.map)
        for _ in islice(self._iter, stop - start):
            pass


class SnapshotCase(Case):
    """Take one consistent copy of a filled map: `snapshot()` if offered, else a dict copy."""

    destructive = False

    def __init__(self, make_map: MapFactory, first: Map, keys: list[Key]) -> None:
        super().__init__(make_map, first, keys, 1)
        self.snapshot: Mapping[Any, Any] | None = None

    def reset(self) -> None:
        self.snapshot = None  # freed here, not inside the next timed run
        super().reset()

    def run_range(self, start: int, stop: int) -> None:
        m = self.map
        for _ in range(start, stop):
            if isinstance(m, Snapshottable):
                self.snapshot = m.snapshot()
            else:  # dict() copies a real Mapping at C speed; other maps only promise iteration
                self.snapshot = dict(m) if isinstance(m, Mapping) else {k: m[k] for k in m}


class BatchCase(Case):
    """Insert, look up or delete int keys through the map's batch calls (`BatchOps`).

    One call covers a whole range of operations, so a run measures the table's own work rather
    than the cost of one Python call per key.
    """

    def __init__(
        self, make_map: MapFactory, first: Map, keys: list[Key], op: str, order: list[Key]
    ) -> None:
        super().__init__(make_map, first, keys, len(order))
        self.op = op
        self.fill = op != "insert"
        self.destructive = op != "lookup"
        self.order = memoryview(array("q", cast(list[int], order)))
        self.order_values = memoryview(array("q", range(len(order))))

    def run_range(self, start: int, stop: int) -> None:
        m = self.map
        assert isinstance(m, BatchOps), "prepare() checked the batch capability"
        chunk = self.order[start:stop]
        if self.op == "insert":
            m.insert_many(chunk, self.order_values[start:stop])
        elif self.op == "lookup":
            m.lookup_many(chunk)
        else:
            m.delete_many(chunk)


class ConcurrentCase(Case):
    """`threads` worker threads apply their own mixed plans to one shared, filled map at once.

    Each thread reads and deletes only keys of its own partition, so every read hits whatever
    the interleaving. The workers are started in `prepare()` and wait on a barrier, so thread
    start-up is never timed; `close()` stops them.
    """

    def __init__(
        self, make_map: MapFactory, first: Map, keys: list[Key], plans: list[Plan]
    ) -> None:
        self.plans = plans
        super().__init__(make_map, first, keys, sum(len(p.codes) for p in plans))
        self._start = threading.Barrier(len(plans) + 1)
        self._done = threading.Barrier(len(plans) + 1)
        self._timing: tuple[BatchTimer, int] | None = None
        self._times: list[list[int]] = [[] for _ in plans]
        self._errors: list[BaseException] = []
        self._stopping = False
        self._workers = [
            threading.Thread(target=self._work, args=(t,), daemon=True, name=f"mapbench-{t}")
            for t in range(len(plans))
        ]
        for worker in self._workers:
            worker.start()

    def use_values(self, values: Values) -> None:
        super().use_values(values)
        # One list for every thread's plan: values are only stored, never changed.
        self.op_values = values.many(max(len(p.codes) for p in self.plans), len(self.keys))

    def _work(self, t: int) -> None:
        plan = self.plans[t]
        while True:
            self._start.wait()
            if self._stopping:
                return
            m = self.map
            try:
                if self._timing is None:
                    plan.apply(m, 0, len(plan.codes), self.op_values)
                else:
                    timer, batch = self._timing
                    run_range = partial(plan.apply, m, values=self.op_values)
                    self._times[t] = timer(run_range, len(plan.codes), batch)
            except BaseException as exc:  # re-raised by the main thread after the run
                self._errors.append(exc)
            self._done.wait()

    def _round(self, timing: tuple[BatchTimer, int] | None) -> None:
        self._dirty = True
        self._timing = timing
        self._errors.clear()
        self._start.wait()
        self._done.wait()
        if self._errors:
            raise self._errors[0]

    def run(self) -> None:
        self._round(None)

    def run_batches(self, timer: BatchTimer, batch: int) -> list[int]:
        """Each thread times its own batches; the lists are concatenated in thread order."""
        self._round((timer, batch))
        return [t for times in self._times for t in times]

    def close(self) -> None:
        if self._workers:
            self._stopping = True
            self._start.wait()
            for worker in self._workers:
                worker.join()
            self._workers = []
        super().close()


class _Request:
    """What a server builds per request and drops: five GC-tracked objects in a cycle (the
    handler refers back to its request), so refcounting cannot free them; only the GC can."""

    __slots__ = ("body", "handler", "headers")

    def __init__(self, seq: int) -> None:
        self.headers = [("seq", seq)]
        self.body = [seq]
        self.handler = _Handler(self)


class _Handler:
    __slots__ = ("request",)

    def __init__(self, request: _Request) -> None:
        self.request = request


# What the "raised" tuning of a GC workload sets (`gc.set_threshold`).
RAISED_THRESHOLDS = (100_000, 10, 10)
# Writes of a GC workload's run at the least: enough for a full collection on every supported
# Python even when the map is small (3.13 considers one every 200,000 net new tracked objects).
WRITE_STREAM_MIN = 50_000


class WriteStreamCase(Case):
    """A long-lived, filled map receiving a stream of writes, each of a freshly built value,
    while each write also drops one request's cyclic garbage: the seeds' write-heavy scenario.

    `targets[i]` is the key operation `i` writes; with `replace`, each write first deletes a
    stored key (`deletes[i]`) and writes a new one (steady-state churn). The fill's values are
    built while filling and held by the map alone, so nothing but the map keeps them alive.
    `tuning` changes the collector after the fill (untimed), as an application would:
    "frozen" moves everything alive, the map included, to the permanent generation
    (`gc.freeze()`); "raised" sets `RAISED_THRESHOLDS`. `close()` undoes it (unfreezing empties
    the permanent generation: on 3.12, which starts with a few hundred objects of its own frozen,
    those too).
    """

    def __init__(
        self,
        make_map: MapFactory,
        first: Map,
        keys: list[Key],
        targets: list[Key],
        deletes: list[Key],
        tuning: str,
    ) -> None:
        super().__init__(make_map, first, keys, len(targets))
        self.targets = targets
        self.deletes = deletes
        self.tuning = tuning
        self._thresholds: tuple[int, int, int] | None = None

    def use_values(self, values: Values) -> None:
        self.values_of = values
        self.values = []  # built while filling and in the run, never held here

    def fill_items(self) -> Iterable[tuple[Key, Any]]:
        """Pairs whose values are built as they are stored: only the map holds them."""
        return zip(self.keys, map(self.values_of.make, range(len(self.keys))), strict=True)

    def reset(self) -> None:
        if self._dirty and self.tuning == "frozen":
            gc.unfreeze()  # the old map leaves the permanent generation, to be freed
        filling = not self._filled or self._dirty
        super().reset()
        if filling:
            self._tune()

    def _tune(self) -> None:
        if self.tuning == "frozen":
            gc.collect()
            gc.freeze()
        elif self.tuning == "raised" and self._thresholds is None:
            self._thresholds = gc.get_threshold()
            gc.set_threshold(*RAISED_THRESHOLDS)

    def close(self) -> None:
        if self.tuning == "frozen":
            gc.unfreeze()
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        super().close()

    def run_range(self, start: int, stop: int) -> None:
        m, make, base = self.map, self.values_of.make, len(self.keys)
        if self.deletes:
            for i, k, old in zip(
                range(start, stop),
                _span(self.targets, start, stop),
                _span(self.deletes, start, stop),
                strict=True,
            ):
                del m[old]
                m[k] = make(base + i)
                _Request(i)
        else:
            for i, k in zip(range(start, stop), _span(self.targets, start, stop), strict=True):
                m[k] = make(base + i)
                _Request(i)


Builder = Callable[[MapFactory, Map, int, str, int, Mapping[str, Any]], Case]


@dataclass(frozen=True)
class Workload:
    """A named, parametrized unit of work; `prepare()` binds it to a map, size and key kind."""

    name: str
    description: str
    requires: tuple[str, ...] = ()
    build: Builder | None = field(default=None, repr=False, compare=False)
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    key_kinds: tuple[str, ...] = KEY_KINDS
    value_kinds: tuple[str, ...] = VALUE_KINDS
    # Collectors that "every collector" leaves out for this workload, each with the reason (run
    # when named explicitly).
    not_collected: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Operations in one run at `size` (a test checks it against every prepared case): how the
    # per-run times of tools that time whole runs (asv) become times per operation.
    count_ops: Callable[[int, Mapping[str, Any]], int] = field(
        default=lambda size, params: size, repr=False, compare=False
    )

    def supports(self, m: Map) -> bool:
        """Whether `m` offers every capability this workload requires."""
        return all(isinstance(m, CAPABILITIES[name]) for name in self.requires)

    def ops(self, size: int) -> int:
        """How many operations one run performs at `size`."""
        return self.count_ops(size, self.params)

    def prepare(
        self,
        make_map: MapFactory,
        size: int,
        key_kind: str,
        seed: int = 0,
        value_kind: str = DEFAULT_VALUE_KIND,
    ) -> Case:
        """Generate keys, values and plans (untimed) and bind them to a first map."""
        if not isinstance(size, int) or size < 1:
            raise WorkloadError(f"workload size must be a positive integer, not {size!r}")
        if key_kind not in KEY_KINDS:
            raise WorkloadError(f"unknown key kind {key_kind!r}; known: {', '.join(KEY_KINDS)}")
        if key_kind not in self.key_kinds:
            raise WorkloadError(
                f"workload {self.name!r} takes {', '.join(self.key_kinds)} keys, not {key_kind}"
            )
        if value_kind not in self.value_kinds:
            raise WorkloadError(
                f"workload {self.name!r} takes {', '.join(self.value_kinds)} values, "
                f"not {value_kind}"
            )
        assert self.build is not None, "every registered workload has a builder"
        first = make_map()
        if not self.supports(first):
            missing = [r for r in self.requires if not isinstance(first, CAPABILITIES[r])]
            first.close()
            raise WorkloadError(
                f"workload {self.name!r} needs a map with {', '.join(missing)}; "
                f"{type(first).__name__} lacks it"
            )
        try:
            values = values_for(value_kind, first)
            case = self.build(make_map, first, size, key_kind, seed, self.params)
        except ValueKindError as exc:
            first.close()
            raise WorkloadError(str(exc)) from None
        except BaseException:
            first.close()
            raise
        if values != case.values_of:
            case.use_values(values)
        return case


def _insert(presize: bool) -> Builder:
    def build(mm: MapFactory, first: Map, n: int, kind: str, seed: int, _: Any) -> Case:
        return InsertCase(mm, first, make_keys(kind, n, seed), presize)

    return build


def _lookup(hit: bool) -> Builder:
    def build(mm: MapFactory, first: Map, n: int, kind: str, seed: int, _: Any) -> Case:
        both = make_keys(kind, 2 * n, seed)  # the second half is guaranteed absent
        keys, absent = both[:n], both[n:]
        probes = _shuffled(keys if hit else absent, seed, "lookup")
        return LookupCase(mm, first, keys, probes, hit)

    return build


def _delete(mm: MapFactory, first: Map, n: int, kind: str, seed: int, _: Any) -> Case:
    keys = make_keys(kind, n, seed)
    return DeleteCase(mm, first, keys, _shuffled(keys, seed, "delete"))


def _batch(op: str, hit: bool = True) -> Builder:
    def build(mm: MapFactory, first: Map, n: int, kind: str, seed: int, _: Any) -> Case:
        both = make_keys(kind, 2 * n, seed)
        keys, absent = both[:n], both[n:]
        if op == "insert":
            return BatchCase(mm, first, keys, op, keys)
        salt = "lookup" if op == "lookup" else "delete"
        return BatchCase(mm, first, keys, op, _shuffled(keys if hit else absent, seed, salt))

    return build


def _mixed(mm: MapFactory, first: Map, n: int, kind: str, seed: int, p: Mapping[str, Any]) -> Case:
    both = make_keys(kind, 2 * n, seed)
    rng = random.Random(f"mapbench-plan/mixed/{seed}")
    plan = mixed_plan(rng, both[:n], both[n:], n, float(p["read_fraction"]))
    return PlanCase(mm, first, both[:n], plan)


def _churn(mm: MapFactory, first: Map, n: int, kind: str, seed: int, _: Any) -> Case:
    both = make_keys(kind, 2 * n, seed)
    old, new = _shuffled(both[:n], seed, "churn"), both[n:]
    codes = [DELETE, INSERT] * n
    keys: list[Key] = [k for pair in zip(old, new, strict=True) for k in pair]
    return PlanCase(mm, first, both[:n], Plan(codes, keys))


def _iterate(mm: MapFactory, first: Map, n: int, kind: str, seed: int, _: Any) -> Case:
    return IterateCase(mm, first, make_keys(kind, n, seed))


def _snapshot(mm: MapFactory, first: Map, n: int, kind: str, seed: int, _: Any) -> Case:
    return SnapshotCase(mm, first, make_keys(kind, n, seed))


def _concurrent(
    mm: MapFactory, first: Map, n: int, kind: str, seed: int, p: Mapping[str, Any]
) -> Case:
    threads = int(p["threads"])
    if threads < 1:
        raise WorkloadError(f"threads must be >= 1, not {threads}")
    both = make_keys(kind, 2 * n, seed)
    plans = [
        mixed_plan(
            random.Random(f"mapbench-plan/concurrent/{seed}/{t}"),
            both[t:n:threads],
            both[n + t :: threads],
            n // threads,
            float(p["read_fraction"]),
        )
        for t in range(threads)
    ]
    return ConcurrentCase(mm, first, both[:n], plans)


def _write_stream(replace: bool) -> Builder:
    def build(mm: MapFactory, first: Map, n: int, kind: str, seed: int, p: Any) -> Case:
        ops = max(n, WRITE_STREAM_MIN)
        if not replace:  # overwrite stored keys, drawn with repeats
            keys = make_keys(kind, n, seed)
            rng = random.Random(f"mapbench-plan/write-heavy/{seed}")
            return WriteStreamCase(mm, first, keys, rng.choices(keys, k=ops), [], p["tuning"])
        # Delete the oldest key, insert a new one: a sliding window over ops + n fresh keys.
        both = make_keys(kind, n + ops, seed)
        return WriteStreamCase(mm, first, both[:n], both[n:], both[:ops], p["tuning"])

    return build


def _stream_ops(size: int, _: Mapping[str, Any]) -> int:
    return max(size, WRITE_STREAM_MIN)


# What a GC workload allocates is its values and garbage, on purpose; counting it costs minutes.
_NOT_COUNTED = "a GC workload allocates values and garbage on purpose: counted when named"
_GC_ONLY = MappingProxyType(dict.fromkeys(("blocks", "tracemalloc", "allocations"), _NOT_COUNTED))


def _params(**params: Any) -> Mapping[str, Any]:
    return MappingProxyType(params)


WORKLOADS: Mapping[str, Workload] = MappingProxyType(
    {
        w.name: w
        for w in (
            Workload("insert", "insert N keys into an empty map", build=_insert(False)),
            Workload(
                "insert-presized",
                "reserve room for N keys, then insert them",
                requires=("presizable",),
                build=_insert(True),
            ),
            Workload("lookup-hit", "look up every stored key, shuffled", build=_lookup(True)),
            Workload("lookup-miss", "look up N absent keys", build=_lookup(False)),
            Workload("delete", "delete every stored key, shuffled", build=_delete),
            Workload(
                "mixed-90-10",
                "N ops: 90% hit lookups, 10% writes (insert new / delete stored, alternating)",
                build=_mixed,
                params=_params(read_fraction=0.9),
            ),
            Workload(
                "mixed-50-50",
                "N ops: 50% hit lookups, 50% writes (insert new / delete stored, alternating)",
                build=_mixed,
                params=_params(read_fraction=0.5),
            ),
            Workload("iterate", "iterate over every key", build=_iterate),
            Workload(
                "churn",
                "N times: delete a stored key and insert a new one (steady size, tombstones)",
                build=_churn,
                count_ops=lambda size, _: 2 * size,
            ),
            Workload(
                "snapshot",
                "one consistent copy: snapshot() if offered, else dict(m)",
                build=_snapshot,
                count_ops=lambda size, _: 1,
            ),
            Workload(
                "concurrent",
                "threads apply 90/10 mixed plans to one shared map at once (N ops in total)",
                requires=("thread-safe",),
                build=_concurrent,
                params=_params(threads=4, read_fraction=0.9),
                count_ops=lambda size, p: size // p["threads"] * p["threads"],
            ),
            *(
                Workload(
                    f"write-heavy{suffix}",
                    "a map holding N entries receives max(N, 50,000) writes to stored keys, each "
                    "of a value built in the write, each write dropping a request's cyclic "
                    f"garbage (the seeds' write-heavy scenario){what}",
                    build=_write_stream(replace=False),
                    params=_params(tuning=tuning),
                    count_ops=_stream_ops,
                    not_collected=_GC_ONLY,
                )
                for suffix, tuning, what in (
                    ("", "", ""),
                    ("-frozen", "frozen", "; the filled map frozen first (gc.freeze())"),
                    (
                        "-raised",
                        "raised",
                        "; GC thresholds raised to "
                        + ", ".join(f"{t:,}" for t in RAISED_THRESHOLDS)
                        + " first",
                    ),
                )
            ),
            Workload(
                "churn-fresh",
                "max(N, 50,000) times: delete the oldest key, insert a new one with a value "
                "built in the write, dropping a request's cyclic garbage (steady size; every "
                "value replaced)",
                build=_write_stream(replace=True),
                params=_params(tuning=""),
                count_ops=_stream_ops,
                not_collected=_GC_ONLY,
            ),
            *(
                Workload(
                    f"{name}-batch",
                    f"{what}, through the map's batch calls (one call per run: the table's "
                    "own work, not a Python call per key)",
                    requires=("batch",),
                    build=build,
                    key_kinds=INT_KEY_KINDS,
                    value_kinds=("int",),
                )
                for name, what, build in (
                    ("insert", "insert N int keys into an empty map", _batch("insert")),
                    ("lookup-hit", "look up every stored int key", _batch("lookup")),
                    ("lookup-miss", "look up N absent int keys", _batch("lookup", hit=False)),
                    ("delete", "delete every stored int key", _batch("delete")),
                )
            ),
        )
    }
)


# The workloads made to show the collector at work: max(N, 50,000) writes a run, each building
# its value. Plans run them with values the collector scans; asv times none of them (its GC
# benchmarks do).
GC_WORKLOADS = ("write-heavy", "write-heavy-frozen", "write-heavy-raised", "churn-fresh")


def get_workload(name: str) -> Workload:
    """The workload called `name`, or a `WorkloadError` naming the known ones."""
    try:
        return WORKLOADS[name]
    except KeyError:
        raise WorkloadError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None


__all__ = [
    "GC_WORKLOADS",
    "INT_KEY_KINDS",
    "KEY_KINDS",
    "SIZES",
    "WORKLOADS",
    "Case",
    "Plan",
    "Workload",
    "WorkloadError",
    "get_workload",
    "make_keys",
    "mixed_plan",
]
