"""What the kit assumes of a map before testing it: key families, iteration order, methods.

`mapbench conform` prints it first, so a failure always reads against what was assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mapbench.conformance.keys import Family, assumed_semantics, families_for

_METHODS = ("get", "pop", "popitem", "setdefault", "update", "clear", "keys")


@dataclass(frozen=True)
class Assumptions:
    """What the kit tests a map with: key families (and which share a map), order, methods."""

    groups: tuple[tuple[Family, ...], ...]
    order: str
    methods: frozenset[str]
    any_key: bool
    any_value: bool
    notes: tuple[str, ...]

    def describe(self) -> str:
        return "; ".join(self.notes)


def assume(make: Callable[[], Any]) -> Assumptions:
    """Read the map's declarations and, where it declares nothing, find out by trying."""
    sem, found = assumed_semantics(make)
    families = families_for(sem)
    m = make()
    try:
        methods = frozenset(name for name in _METHODS if callable(getattr(m, name, None)))
        if type(m).__eq__ is not object.__eq__:  # type: ignore[comparison-overlap]
            methods |= {"__eq__"}
    finally:
        m.close()
    notes = [f"keys: {sem.describe_keys()}", *([found] if found else [])]
    together = sem.mixed_key_types
    groups = (tuple(families),) if together else tuple((f,) for f in families)
    names = "/".join(f.name for f in families)
    notes.append(f"{names} " + ("in one map" if together else "each in its own map"))
    order = sem.key_order
    notes.append(
        f"iteration order: {order} (declared)" if order != "none" else
        "iteration order: none declared (compared as sets)"
    )  # fmt: skip
    lacking = [name for name in (*_METHODS, "__eq__") if name not in methods]
    if lacking:
        notes.append(f"not offered, not tested: {', '.join(lacking)}")
    any_key, any_value = sem.key_types == (object,), sem.value_types == (object,)
    return Assumptions(groups, order, methods, any_key, any_value, tuple(notes))
