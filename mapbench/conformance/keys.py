"""The keys the kit stores: families of keys that compare with each other, chosen where maps break.

A family's keys are mutually comparable (a sorted map can hold them together): numbers (ints at
their edges, and floats and bools equal to ints: `1`, `1.0` and `True` are one key in a dict),
text (with `Text`, a str subclass equal to its str), bytes, and `Collider`s (colliding and
negative hashes). Each family also has a formula, `K(i)`, for the i-th of many distinct keys,
used by bulk steps. The classes here are public: the programs the kit prints import them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mapbench.conformance._declared import INT_EDGES
from mapbench.protocol import INT64_MAX, INT64_MIN, Semantics, semantics_of

_GOLDEN = 0x9E3779B97F4A7C15  # odd: i -> i * _GOLDEN is a bijection on 64-bit integers


class Text(str):
    """A str subclass: `Text("a") == "a"` and their hashes are equal, so they are one key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Text({str(self)!r})"


class Collider:
    """A key equal only to itself by `n`, whose hash collides with its neighbours' and is often
    negative: `hash(Collider(n)) == n % 5 - 3` (CPython turns a hash of -1 into -2, so -1 and
    -2 collide too). Ordered by `n`, so a sorted map can hold them."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __hash__(self) -> int:
        return self.n % 5 - 3

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Collider) and other.n == self.n

    def __lt__(self, other: Collider) -> bool:
        return self.n < other.n

    def __repr__(self) -> str:
        return f"Collider({self.n})"


class BadHash:
    """A key whose `__hash__` raises: storing it must fail and leave the map as it was."""

    __slots__ = ()

    def __hash__(self) -> int:
        raise ValueError("BadHash cannot be hashed")

    def __repr__(self) -> str:
        return "BadHash()"


class KeysAndGetitem:
    """Not a mapping, only `keys()` and `__getitem__`: `dict.update` takes such an object."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: dict[Any, Any]) -> None:
        self.pairs = pairs

    def keys(self) -> list[Any]:
        return list(self.pairs)

    def __getitem__(self, key: Any) -> Any:
        return self.pairs[key]

    def __repr__(self) -> str:
        return f"KeysAndGetitem({self.pairs!r})"


@dataclass(frozen=True)
class Formula:
    """The i-th of many distinct keys of a family, as a function and as Python source."""

    name: str
    source: str  # a lambda expression, printed in programs as `K_<name> = <source>`
    make: Callable[[int], Any]
    key_type: type

    def __call__(self, i: int) -> Any:
        return self.make(i)


FORMULAS = {
    f.name: f
    for f in (
        Formula("int", "lambda i: i", lambda i: i, int),
        Formula(
            "spread",
            "lambda i: (i * 0x9E3779B97F4A7C15 + 2**63) % 2**64 - 2**63",
            lambda i: (i * _GOLDEN + 2**63) % 2**64 - 2**63,
            int,
        ),
        Formula("str", "lambda i: f'k{i}'", lambda i: f"k{i}", str),
        Formula("bytes", "lambda i: b'k%d' % i", lambda i: b"k%d" % i, bytes),
        Formula("collider", "Collider", Collider, Collider),
    )
}


@dataclass(frozen=True)
class Family:
    """Keys that compare with each other; `pool` holds the few where maps break."""

    name: str
    pool: tuple[Any, ...]
    formulas: tuple[str, ...]


_NUMBERS = (
    0, 1, -1, -2, 2, 7, 8, 2**61 - 1, 2**61, -(2**61) + 1, 1.0, 0.0, -1.0, True, False, 2.5,
    *INT_EDGES,
)  # fmt: skip
FAMILIES = (
    Family("numbers", _NUMBERS, ("int", "spread")),
    Family("text", ("", "a", "x", "1", Text("a"), Text("x"), "ключ", "🙂", "x" * 300), ("str",)),
    Family("bytes", (b"", b"a", b"x", b"1", b"\x00", b"\x00\xff", b"y" * 300), ("bytes",)),
    Family("colliders", tuple(Collider(n) for n in (-7, -2, -1, 0, 1, 2, 3, 5, 8)), ("collider",)),
)


def storable(sem: Semantics, key: Any) -> bool:
    """Whether `key` is one the map declares it stores (declared int maps take exact int64s)."""
    if sem.key_types == (object,):
        return True
    if isinstance(key, bool) or not sem.takes_key(type(key)):
        return False
    return not isinstance(key, int) or INT64_MIN <= key <= INT64_MAX


def families_for(sem: Semantics) -> list[Family]:
    """The families cut down to what the map declares; families with no key left are dropped."""
    found = []
    for family in FAMILIES:
        pool = tuple(k for k in family.pool if storable(sem, k))
        formulas = tuple(f for f in family.formulas if storable(sem, FORMULAS[f](1)))
        if pool and formulas:
            found.append(Family(family.name, _dedupe(pool), formulas))
    return found


def _dedupe(pool: tuple[Any, ...]) -> tuple[Any, ...]:
    """The pool without repeats of the same object value and type (INT_EDGES repeats some)."""
    seen: set[tuple[type, Any]] = set()
    kept = []
    for key in pool:
        if (type(key), key) not in seen:
            seen.add((type(key), key))
            kept.append(key)
    return tuple(kept)


def assumed_semantics(make: Callable[[], Any]) -> tuple[Semantics, str]:
    """What a new map of `make` declares, with `mixed_key_types` found out by trying where it
    declares keys of every type may share it: a sorted map that compares its keys raises
    TypeError for a str after an int. Also returns the sentence saying what was found."""
    m = make()
    try:
        sem = semantics_of(m)
        if not sem.mixed_key_types:
            return sem, ""
        stored: list[Any] = []
        for family in families_for(sem):
            key = family.pool[0]
            try:
                m[key] = 0
            except TypeError as exc:
                note = (
                    f"storing {key!r} after {stored[-1]!r} raised TypeError ({exc}): keys are "
                    "compared with each other"
                )
                return replace(sem, mixed_key_types=False), note
            stored.append(key)
        return sem, ""
    finally:
        m.close()


def equal_but_different(a: Any, b: Any) -> bool:
    """Two keys a dict holds as one though they differ in type (1 and 1.0, "a" and Text("a"))."""
    return type(a) is not type(b) and a == b and hash(a) == hash(b)


__all__ = [
    "FAMILIES",
    "FORMULAS",
    "BadHash",
    "Collider",
    "Family",
    "Formula",
    "KeysAndGetitem",
    "Text",
    "assumed_semantics",
    "equal_but_different",
    "families_for",
    "storable",
]
