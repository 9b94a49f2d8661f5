"""What a map is, and the optional capabilities a map may offer.

Every map is a `Map`; capabilities are small `runtime_checkable` protocols that callers test with
`isinstance(m, ProbeStatsReporter)` instead of scattered `hasattr` calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

Key = int | str | bytes
Value = int | bytes

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


@runtime_checkable
class Map(Protocol):
    """A mutable mapping that mapbench can measure.

    `key_types` and `value_types` declare what the map stores (`(object,)`: any hashable key,
    any value); anything else raises `TypeError`. Two more declarations are optional class
    attributes, read with `semantics_of`: `mixed_key_types` (False: keys of one orderable type
    at a time, as a sorted map needs) and `key_order` ("insertion", "sorted" or "none"). The
    conformance suite tests what a map declares. A raw class without these attributes or
    `close()` is adapted by the registry (`mapbench.registry.adapted`) with the defaults.
    """

    key_types: ClassVar[tuple[type, ...]]
    value_types: ClassVar[tuple[type, ...]]

    def __getitem__(self, key: Any) -> Any: ...
    def __setitem__(self, key: Any, value: Any) -> None: ...
    def __delitem__(self, key: Any) -> None: ...
    def __contains__(self, key: object) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Any]: ...
    def get(self, key: Any, default: Any = None) -> Any: ...
    def clear(self) -> None: ...
    # Declared with one positional argument so that `dict` itself (whose `update` is overloaded)
    # satisfies the protocol; maps accept keyword arguments too, as `dict.update` does.
    def update(self, other: Any, /) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class ProbeStats:
    """Exact probe statistics of a table, as counted by its own code.

    A "probe" is one inspected slot for open addressing, one bucket for bucketed tables and one
    group for group-probing tables (`probe_unit` says which). `capacity` counts key slots in
    every layout (a bucket of 8 slots is 8). Histograms are indexed by probe length:
    `hit_histogram[3]` is how many stored keys are found after exactly 3 probes.
    """

    size: int
    capacity: int
    probe_unit: str
    hit_histogram: tuple[int, ...]
    miss_histogram: tuple[int, ...]
    tombstones: int = 0
    resizes: int = 0
    extra: Mapping[str, float] = field(default_factory=dict)
    source: Literal["measured", "modelled"] = "measured"

    @property
    def load_factor(self) -> float:
        return self.size / self.capacity if self.capacity else 0.0

    @property
    def hit_mean(self) -> float:
        return _histogram_mean(self.hit_histogram)

    @property
    def miss_mean(self) -> float:
        return _histogram_mean(self.miss_histogram)

    @property
    def hit_max(self) -> int:
        return _histogram_max(self.hit_histogram)

    @property
    def miss_max(self) -> int:
        return _histogram_max(self.miss_histogram)


def _histogram_mean(histogram: Sequence[int]) -> float:
    count = sum(histogram)
    return sum(length * n for length, n in enumerate(histogram)) / count if count else 0.0


def _histogram_max(histogram: Sequence[int]) -> int:
    return max((length for length, n in enumerate(histogram) if n), default=0)


@runtime_checkable
class ProbeStatsReporter(Protocol):
    """A map that can report exact probe statistics of its current table."""

    def probe_stats(self) -> ProbeStats: ...


@runtime_checkable
class DictBacked(Protocol):
    """A map made of plain dicts (shards, a published snapshot) whose tables mapbench can read.

    It lets the probe collector measure a composite map exactly without the map importing any
    measurement code.
    """

    def backing_dicts(self) -> Sequence[dict[Any, Any]]: ...


@runtime_checkable
class ThreadSafe(Protocol):
    """A map whose operations may be called from many threads at once.

    Only thread-safe maps define `thread_safe`; its presence is the declaration.
    """

    thread_safe: Literal[True]


@runtime_checkable
class EventCounters(Protocol):
    """A map that counts the events of its own mechanism (promotions, lock waits), exactly.

    `counters()` returns totals since the map was made, by name; callers take differences.
    """

    def counters(self) -> Mapping[str, int]: ...


@runtime_checkable
class Persistent(Protocol):
    """A map whose contents live in a file and survive the process."""

    @property
    def path(self) -> str: ...

    def flush(self) -> None: ...


@runtime_checkable
class BatchOps(Protocol):
    """A map that inserts, looks up and deletes many keys in one call (no per-call overhead).

    `keys` and `values` are buffers of 64-bit signed integers (e.g. `array('q')`).
    """

    def insert_many(self, keys: Any, values: Any) -> None: ...
    def lookup_many(self, keys: Any) -> int: ...
    def delete_many(self, keys: Any) -> int: ...


@runtime_checkable
class Presizable(Protocol):
    """A map that can reserve room for `n` entries ahead of inserting them."""

    def reserve(self, n: int) -> None: ...


@runtime_checkable
class Snapshottable(Protocol):
    """A map that hands out a consistent read-only view unaffected by later writes."""

    def snapshot(self) -> Mapping[Any, Any]: ...


KeyOrder = Literal["none", "insertion", "sorted"]
ANY: tuple[type, ...] = (object,)


@dataclass(frozen=True)
class Semantics:
    """What a map declares about its keys, values, iteration order and storage.

    The conformance suite tests exactly this; the defaults are those of a raw class: any
    hashable key of any mix of types, any value, no promised order, in memory.
    """

    key_types: tuple[type, ...] = ANY
    value_types: tuple[type, ...] = ANY
    mixed_key_types: bool = True  # False: one orderable key type per map (a sorted map)
    key_order: KeyOrder = "none"  # the order iteration promises
    persistent: bool = False  # contents live in a file (the `Persistent` capability)

    def takes_key(self, t: type) -> bool:
        """Whether keys of type `t` are declared storable."""
        return any(issubclass(t, d) for d in self.key_types)

    def takes_value(self, t: type) -> bool:
        """Whether values of type `t` are declared storable."""
        return any(issubclass(t, d) for d in self.value_types)

    def describe_keys(self) -> str:
        """The declared keys for people: "int/str/bytes", "any hashable, one type at a time"..."""
        names = "/".join(t.__name__ for t in self.key_types)
        names = "any hashable" if self.key_types == ANY else names
        return names if self.mixed_key_types else f"{names}, one type at a time"


KEY_ORDERS: tuple[KeyOrder, ...] = ("none", "insertion", "sorted")


def semantics_of(m: object) -> Semantics:
    """The semantics the map `m` declares, defaults filled in."""
    order = getattr(m, "key_order", "none")
    if order not in KEY_ORDERS:
        raise TypeError(f"{type(m).__name__}.key_order is {order!r}; declare one of {KEY_ORDERS}")
    return Semantics(
        key_types=tuple(getattr(m, "key_types", ANY)),
        value_types=tuple(getattr(m, "value_types", ANY)),
        mixed_key_types=bool(getattr(m, "mixed_key_types", True)),
        key_order=order,
        persistent=isinstance(m, Persistent),
    )


CAPABILITIES: dict[str, type] = {
    "probe-stats": ProbeStatsReporter,
    "dict-backed": DictBacked,
    "thread-safe": ThreadSafe,
    "counters": EventCounters,
    "persistent": Persistent,
    "batch": BatchOps,
    "presizable": Presizable,
    "snapshot": Snapshottable,
}


def capabilities_of(m: object) -> tuple[str, ...]:
    """Names of the optional capabilities `m` offers, in a fixed order."""
    return tuple(name for name, proto in CAPABILITIES.items() if isinstance(m, proto))


def check_key(m: Map, key: object) -> None:
    """Raise `TypeError` (or `OverflowError` for a too-large int) if `m` cannot store `key`."""
    _check(key, getattr(m, "key_types", ANY), "key")


def check_value(m: Map, value: object) -> None:
    """Raise `TypeError` (naming the supported types) if `m` cannot store `value`."""
    _check(value, getattr(m, "value_types", ANY), "value")


def _check(obj: object, allowed: tuple[type, ...], what: str) -> None:
    # bool is an int subclass but a different key in spirit; maps reject it explicitly.
    if isinstance(obj, bool) or not isinstance(obj, allowed):
        names = ", ".join(t.__name__ for t in allowed)
        raise TypeError(f"unsupported {what} type {type(obj).__name__!r}; supported: {names}")
    if isinstance(obj, int) and not INT64_MIN <= obj <= INT64_MAX:
        raise OverflowError(f"{what} {obj} is outside the 64-bit signed integer range")


def iter_update_items(other: Any = (), /, **kwargs: Any) -> Iterable[tuple[Any, Any]]:
    """The (key, value) pairs `dict.update(other, **kwargs)` would apply, in order."""
    if isinstance(other, Mapping):
        yield from other.items()
    elif hasattr(other, "keys"):
        for k in other.keys():  # noqa: SIM118 - duck-typed like dict.update, not a dict
            yield k, other[k]
    else:
        for pair in other:
            k, v = pair
            yield k, v
    yield from kwargs.items()
