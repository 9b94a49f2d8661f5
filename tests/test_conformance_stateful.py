"""Random operation sequences against `dict` as the oracle (hypothesis stateful testing)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from mapbench.protocol import INT64_MAX, INT64_MIN, Map
from mapbench.registry import MapSpec

# A small key space makes overwrites, deletes of present keys and collisions frequent.
keys = st.one_of(
    st.integers(-8, 8),
    st.sampled_from([INT64_MIN, INT64_MAX, 2**31, -(2**33)]),
    st.text(max_size=4),
    st.binary(max_size=4),
)
values = st.one_of(st.integers(INT64_MIN, INT64_MAX), st.binary(max_size=16))


class MapAgainstDict(RuleBasedStateMachine):
    """Every operation is applied to the map under test and to a dict; they must agree."""

    make: Any  # set per map by `machine_for`

    def __init__(self) -> None:
        super().__init__()
        self.map: Map = self.make()
        self.oracle: dict[Any, Any] = {}

    @rule(key=keys, value=values)
    def set(self, key: Any, value: Any) -> None:
        self.map[key] = value
        self.oracle[key] = value

    @rule(key=keys)
    def get(self, key: Any) -> None:
        assert self.map.get(key, "missing") == self.oracle.get(key, "missing")
        if key in self.oracle:
            assert self.map[key] == self.oracle[key]

    @rule(key=keys)
    def delete(self, key: Any) -> None:
        try:
            del self.map[key]
        except KeyError:
            assert key not in self.oracle
        else:
            del self.oracle[key]

    @rule(key=keys)
    def contains(self, key: Any) -> None:
        assert (key in self.map) == (key in self.oracle)

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=20))
    def update(self, pairs: list[tuple[Any, Any]]) -> None:
        self.map.update(pairs)
        self.oracle.update(pairs)

    @rule(n=st.integers(0, 300))
    def grow(self, n: int) -> None:
        # Bulk inserts push the table through resizes that single rules rarely reach.
        for i in range(n):
            self.map[1000 + i] = i
            self.oracle[1000 + i] = i

    @rule()
    def clear(self) -> None:
        self.map.clear()
        self.oracle.clear()

    @invariant()
    def same_size(self) -> None:
        assert len(self.map) == len(self.oracle)

    @rule()
    def same_items(self) -> None:
        assert {k: self.map[k] for k in self.map} == self.oracle

    def teardown(self) -> None:
        assert {k: self.map[k] for k in self.map} == self.oracle
        self.map.close()


def test_stateful_against_dict(map_spec: MapSpec, tmp_path: Any) -> None:
    import tempfile

    machine = type(f"Machine_{map_spec.label}", (MapAgainstDict,), {"make": map_spec.create})
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp_path)
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=60,
                stateful_step_count=40,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        tempfile.tempdir = saved
