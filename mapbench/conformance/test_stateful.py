"""Random operation programs against `dict` as the oracle (hypothesis stateful testing).

Keys come from what the map declares, biased toward the values where tables and encodings
break: int boundaries (2**31, 2**53, 2**62, the int64 extremes), short str and bytes of equal
contents ("x" and b"x"), and keys already stored, so overwrites and deletes of present keys are
frequent. The quick profile runs 100 programs of up to 50 steps; the deep one (`--conform-deep`)
runs programs of up to 100 steps until its budget is spent (docs/conformance.md has the
measured catch rates).

PYTEST_DONT_REWRITE: pytest's rewritten asserts explain every failure with a diff of the
compared values, and shrinking fails hundreds of times (a minute and more); the asserts here
say what differs themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from mapbench.conformance._declared import (
    INT_EDGES,
    key_groups,
    make_key,
    make_value,
    value_types,
)
from mapbench.conformance._program import difference as keys_difference
from mapbench.conformance.keys import assumed_semantics
from mapbench.conformance.plugin import Profile
from mapbench.protocol import INT64_MAX, INT64_MIN, Map, Semantics
from mapbench.registry import MapSpec

# (programs, steps per program) of one round: quick runs one round, deep repeats them.
QUICK = (100, 50)
DEEP = (200, 100)

_SHORT = st.text(alphabet="xy1", max_size=3)  # equal contents as str and as bytes
KEYS: dict[type, st.SearchStrategy[Any]] = {
    int: st.one_of(
        st.sampled_from(INT_EDGES), st.integers(-4, 4), st.integers(INT64_MIN, INT64_MAX)
    ),
    str: st.one_of(_SHORT, st.text(max_size=8)),
    bytes: st.one_of(_SHORT.map(str.encode), st.binary(max_size=8)),
}
VALUES: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(INT64_MIN, INT64_MAX),
    bytes: st.binary(max_size=16),
}


def machine_for(
    make: Callable[[], Map], sem: Semantics, group: tuple[type, ...]
) -> type[RuleBasedStateMachine]:
    """A state machine that applies each step to a fresh map of `make` and to a dict."""
    keys = st.one_of(*(KEYS[t] for t in group))
    values = st.one_of(*(VALUES[t] for t in value_types(sem)))

    class MapAgainstDict(RuleBasedStateMachine):
        stored = Bundle("stored")

        def __init__(self) -> None:
            super().__init__()
            self.map = make()
            self.oracle: dict[Any, Any] = {}

        @rule(target=stored, key=keys, value=values)
        def set(self, key: Any, value: Any) -> Any:
            self.map[key] = value
            self.oracle[key] = value
            return key

        @rule(key=stored, value=values)
        def overwrite(self, key: Any, value: Any) -> None:
            self.map[key] = value
            self.oracle[key] = value
            assert self.map[key] == value, f"overwrite of {key!r} did not land"

        @rule(key=stored)
        def get_stored(self, key: Any) -> None:
            self.check_get(key)

        @rule(key=keys)
        def get(self, key: Any) -> None:
            self.check_get(key)

        def check_get(self, key: Any) -> None:
            got, expected = self.map.get(key, "missing"), self.oracle.get(key, "missing")
            assert got == expected, f"get({key!r}) is {got!r}, not {expected!r}"
            assert (key in self.map) == (key in self.oracle), f"{key!r} in m is wrong"
            if key in self.oracle:
                got = self.map[key]
                assert got == expected, f"m[{key!r}] is {got!r}, not {expected!r}"

        @rule(key=stored)
        def delete_stored(self, key: Any) -> None:
            self.delete(key)

        @rule(key=keys)
        def delete_any(self, key: Any) -> None:
            self.delete(key)

        def delete(self, key: Any) -> None:
            try:
                del self.map[key]
            except KeyError:
                assert key not in self.oracle, f"del of stored {key!r} raised KeyError"
            else:
                assert key in self.oracle, f"del of absent {key!r} did not raise KeyError"
                del self.oracle[key]

        @rule(pairs=st.lists(st.tuples(keys, values), max_size=8))
        def update(self, pairs: list[tuple[Any, Any]]) -> None:
            self.map.update(pairs)
            self.oracle.update(pairs)

        @rule(n=st.integers(0, 64))
        def grow(self, n: int) -> None:
            # Bulk inserts push the table through resizes that single rules rarely reach.
            for i in range(n):
                key = make_key(group[i % len(group)], 100_000 + i)
                self.map[key] = self.oracle[key] = make_value(sem, i)

        @rule(value=st.integers(0, 1000))
        def rewrite(self, value: int) -> None:
            # Every stored key overwritten at once: overwrites of many kinds of key per step.
            for i, key in enumerate(list(self.oracle)):
                self.map[key] = self.oracle[key] = make_value(sem, value + i)
            self.check_items()

        @precondition(lambda self: len(self.oracle) > 32)
        @rule()
        def clear(self) -> None:
            self.map.clear()
            self.oracle.clear()

        @rule()
        def same_items(self) -> None:
            self.check_items()

        def check_items(self) -> None:
            listed = list(self.map)
            items = {k: self.map[k] for k in listed}
            if len(listed) != len(self.oracle) or items != self.oracle:
                raise AssertionError(difference(listed, items, self.oracle))
            if sem.key_order == "insertion":
                assert listed == list(self.oracle), f"not in insertion order: {listed!r}"
            elif sem.key_order == "sorted":
                assert listed == sorted(self.oracle), f"not in sorted order: {listed!r}"

        @invariant()
        def same_size(self) -> None:
            size = len(self.map)
            assert size == len(self.oracle), f"len(m) is {size}, not {len(self.oracle)}"

        def teardown(self) -> None:
            try:
                self.check_items()
            finally:
                self.map.close()

    return MapAgainstDict


def difference(listed: list[Any], items: dict[Any, Any], oracle: dict[Any, Any]) -> str:
    """What iterating the map shows that `dict` would not: a short, exact account."""
    parts = []
    if len(listed) != len(items) or items.keys() != oracle.keys():
        parts.append(keys_difference(listed, oracle))
    wrong = {k: (items[k], oracle[k]) for k in items if k in oracle and items[k] != oracle[k]}
    if wrong:
        parts.append(f"wrong values (map, dict): {dict(list(wrong.items())[:5])!r}")
    return "; ".join(parts)


def run(machine: type[RuleBasedStateMachine], profile: Profile, budget: float) -> None:
    """The quick profile once; the deep one in rounds until `budget` seconds have passed."""
    programs, steps = DEEP if profile.deep else QUICK
    config = settings(
        max_examples=programs,
        stateful_step_count=steps,
        deadline=None,
        database=None,  # a fresh search every time, and no .hypothesis/ in the user's cwd
        report_multiple_bugs=False,  # shrink one failure, not one per failing assert (minutes)
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],  # no explain phase
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    end = time.monotonic() + budget
    while True:
        run_state_machine_as_test(machine, settings=config)
        if not profile.deep or time.monotonic() >= end:
            return


def test_stateful_against_dict(
    map_spec: MapSpec, map_tempdir: Any, conform_profile: Profile
) -> None:
    sem, _ = assumed_semantics(map_spec.create)  # a sorted map as given: one type at a time
    groups = key_groups(sem)
    for group in groups:
        machine = machine_for(map_spec.create, sem, group)
        machine.__name__ = (
            f"MapAgainstDict[{map_spec.label}, {'/'.join(t.__name__ for t in group)}]"
        )
        # A quarter of the deep budget: the contract programs take the rest (plugin.Profile).
        run(machine, conform_profile, conform_profile.budget / 4 / len(groups))
