"""Value kinds: what a workload stores with each key, from plain ints to objects the GC scans.

A kind names the data; `Values` is that data in the form one map stores. A map that declares
the kind's Python type (a dict takes anything) stores the objects themselves. A map that stores
only ints and bytes (the C tables, the mmap map) stores the same data serialised, off the heap:
str as UTF-8, tuple/record/json as compact JSON. Building and serialising happen before a run
(untimed), except in the GC workloads, where each write builds its value as part of the write
and a bytes-only map pays for the serialisation there too. What the collector tracks per value:

| kind   | one value                                   | GC-tracked objects per value         |
|--------|---------------------------------------------|--------------------------------------|
| int    | `i`                                         | 0                                    |
| str    | `"value-00000042"`                          | 0                                    |
| tuple  | `(i, "item-42", i / 2)`                     | 1, until a collection sees its atoms |
| record | `Record(id, name, score, active)`, slotted  | 1                                    |
| json   | `{"id", "name", "active", "tags", "address"}` | 2: the dict and its tags list      |

(the json value's address dict holds only atoms, so CPython never tracks it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mapbench.errors import MapbenchError
from mapbench.protocol import Map, semantics_of

VALUE_KINDS = ("int", "str", "tuple", "record", "json")
DEFAULT_VALUE_KIND = "int"
# Kinds whose values hold references the collector must follow (tuple: until it untracks them).
REFERENCE_KINDS = ("tuple", "record", "json")


class ValueKindError(MapbenchError, ValueError):
    """An unknown value kind, or a map that can store neither the kind nor bytes."""


@dataclass(slots=True)
class Record:
    """A small application object: one GC-tracked object holding four scalars."""

    id: int
    name: str
    score: float
    active: bool


def _str(i: int) -> str:
    return f"value-{i:08d}"


def _tuple(i: int) -> tuple[int, str, float]:
    return (i, f"item-{i}", i / 2)


def _record(i: int) -> Record:
    return Record(i, f"user-{i}", i / 2, i % 2 == 0)


def _json(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"user-{i}",
        "active": i % 2 == 0,
        "tags": ["a", f"t{i % 7}"],
        "address": {"city": f"c{i % 97}", "zip": i % 100_000},
    }


_OBJECTS: dict[str, tuple[type, Callable[[int], Any]]] = {
    "int": (int, int),
    "str": (str, _str),
    "tuple": (tuple, _tuple),
    "record": (Record, _record),
    "json": (dict, _json),
}

_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def _utf8(i: int) -> bytes:
    return _str(i).encode()


def _json_bytes(make: Callable[[int], Any]) -> Callable[[int], bytes]:
    def encode(i: int) -> bytes:
        value = make(i)
        if isinstance(value, Record):
            value = [value.id, value.name, value.score, value.active]
        return _COMPACT(value).encode()

    return encode


@dataclass(frozen=True)
class Values:
    """The values of one kind in the form one map stores: `make(i)` is the i-th entry's value.

    `form` is "object" when the map holds the kind's Python objects, else how the same data is
    stored ("utf8-bytes", "json-bytes"): results carry it, so no table passes off bytes as
    objects.
    """

    kind: str
    form: str
    make: Callable[[int], Any]

    def many(self, n: int, start: int = 0) -> list[Any]:
        """Values `start .. start+n-1`, built now."""
        return list(map(self.make, range(start, start + n)))

    @property
    def off_heap(self) -> bool:
        """Whether the map stores a serialised form rather than the objects."""
        return self.form != "object"


INT_VALUES = Values("int", "object", int)


def values_for(kind: str, m: Map) -> Values:
    """`kind`'s values as `m` stores them: the objects if it declares their type, else bytes."""
    check_value_kind(kind)
    python_type, make = _OBJECTS[kind]
    declared = semantics_of(m)
    if declared.takes_value(python_type):
        return INT_VALUES if kind == "int" else Values(kind, "object", make)
    if kind != "int" and declared.takes_value(bytes):
        if kind == "str":
            return Values(kind, "utf8-bytes", _utf8)
        return Values(kind, "json-bytes", _json_bytes(make))
    names = "/".join(t.__name__ for t in declared.value_types)
    raise ValueKindError(
        f"{type(m).__name__} stores {names} values: neither {kind} values nor their bytes"
    )


def check_value_kind(kind: str) -> None:
    """Raise `ValueKindError` naming the known kinds if `kind` is not one."""
    if kind not in VALUE_KINDS:
        raise ValueKindError(f"unknown value kind {kind!r}; known: {', '.join(VALUE_KINDS)}")


__all__ = [
    "DEFAULT_VALUE_KIND",
    "INT_VALUES",
    "REFERENCE_KINDS",
    "VALUE_KINDS",
    "Record",
    "ValueKindError",
    "Values",
    "check_value_kind",
    "values_for",
]
