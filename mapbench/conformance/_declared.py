"""What the suite stores in a map, chosen from what the map declares (`semantics_of`)."""

from __future__ import annotations

from typing import Any

from mapbench.protocol import INT64_MAX, INT64_MIN, Semantics

# The key types the workloads use; a map declares which of them it takes.
KEY_TYPES: tuple[type, ...] = (int, str, bytes)
VALUE_TYPES: tuple[type, ...] = (int, bytes)

# Every int boundary a table's hashing or encoding may treat specially.
INT_EDGES = (
    0, 1, -1, 42, 2**31 - 1, 2**31, -(2**31), 2**32, 2**53 + 1, 2**61 - 1,
    2**62 - 1, 2**62, 2**62 + 1, 2**62 + 2**61, INT64_MAX - 1, INT64_MAX,
    INT64_MIN, INT64_MIN + 1, -(2**62) - 1, -(2**40) + 7,
)  # fmt: skip
SAMPLE_KEYS: dict[type, list[Any]] = {
    int: list(INT_EDGES),
    str: ["", "a", "x", "key", "ключ", "🙂 emoji", "x" * 300],
    bytes: [b"", b"a", b"x", b"\x00", b"\x00\xff\x10", b"y" * 300],
}
SAMPLE_VALUES: dict[type, list[Any]] = {
    int: [0, -1, INT64_MAX, INT64_MIN, 12345],
    bytes: [b"", b"v", b"\x00\x01", b"z" * 1000],
}
# Candidates a map must reject with TypeError unless it declares their type.
FOREIGN_OBJECTS: list[Any] = [1.5, None, (1, 2), frozenset({1}), 3j]


def key_types(sem: Semantics) -> list[type]:
    """The workload key types the map declares."""
    return [t for t in KEY_TYPES if sem.takes_key(t)]


def value_types(sem: Semantics) -> list[type]:
    """The value types the suite stores that the map declares."""
    return [t for t in VALUE_TYPES if sem.takes_value(t)]


def key_groups(sem: Semantics) -> list[tuple[type, ...]]:
    """Key types that may share one map: all of them, or one at a time."""
    types = key_types(sem)
    return [tuple(types)] if sem.mixed_key_types else [(t,) for t in types]


_GOLDEN = 0x9E3779B97F4A7C15  # odd: i -> i * _GOLDEN is a bijection on 64-bit integers


def make_key(t: type, i: int) -> Any:
    """The i-th distinct key of type `t`; ints are spread over the whole int64 range (a quarter
    of them above 2**62), so the top bits of a table's hash and encoding are exercised."""
    if t is int:
        return (i * _GOLDEN + 2**63) % 2**64 - 2**63
    return f"k{i}" if t is str else b"k%d" % i


def make_value(sem: Semantics, i: int) -> Any:
    """A value the map takes, distinct for each i."""
    return i if sem.takes_value(int) else b"%d" % i
