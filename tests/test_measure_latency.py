"""The latency collector exposes rehash spikes in p99.9 and max; `mapbench measure` shows it all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from mapbench import schema
from mapbench.cli import main
from mapbench.measure import COLLECTORS, collect, percentile
from mapbench.measure.latency import Latency
from mapbench.registry import parse_spec
from mapbench.workloads import get_workload

GROW_EVERY = 256


class RehashingMap:
    """A toy bucket map that rebuilds its whole table (in Python) every GROW_EVERY inserts."""

    key_types: ClassVar[tuple[type, ...]] = (object,)
    value_types: ClassVar[tuple[type, ...]] = (object,)

    def __init__(self, capacity: int = 8) -> None:
        self._buckets: list[list[tuple[Any, Any]]] = [[] for _ in range(capacity)]
        self._room = GROW_EVERY if capacity == 8 else 1 << 62
        self._len = 0

    def _bucket(self, key: Any) -> list[tuple[Any, Any]]:
        return self._buckets[hash(key) % len(self._buckets)]

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._room == 0:
            items = [pair for bucket in self._buckets for pair in bucket]
            self._buckets = [[] for _ in range(2 * len(items))]
            for k, v in items:
                self._bucket(k).append((k, v))
            self._room = GROW_EVERY
        self._bucket(key).append((key, value))
        self._room -= 1
        self._len += 1

    def __getitem__(self, key: Any) -> Any:
        for k, v in self._bucket(key):
            if k == key:
                return v
        raise KeyError(key)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Any]:
        return (k for bucket in self._buckets for k, _ in bucket)

    def update(self, other: Any = ()) -> None:
        for k, v in other:
            self[k] = v

    def close(self) -> None:
        pass


def _latency(capacity: int) -> dict[str, float]:
    case = get_workload("insert").prepare(lambda: RehashingMap(capacity), 4096, "seq-int")
    try:
        return {m.name: m.value for m in collect(case, ["latency"]).measurements}
    finally:
        case.close()


def test_rehashing_map_shows_its_spikes_in_p999_and_max() -> None:
    # 15 rebuilds of 256..3840 entries in 4096 inserts: p99.9 (the 5th slowest op) is one.
    rehashing = _latency(8)
    # Noise only adds time: the quietest of three presized runs is the fair baseline.
    presized_p999 = min(_latency(1 << 14)["latency_p999"] for _ in range(3))
    assert rehashing["latency_p999"] > 50 * rehashing["latency_p50"]
    assert rehashing["latency_max"] >= rehashing["latency_p999"]
    assert rehashing["latency_p999"] > 5 * presized_p999
    assert rehashing["latency_spikes"] >= 10


def test_latency_batches_divide_by_the_batch_size() -> None:
    case = get_workload("lookup-hit").prepare(parse_spec("dict").create, 1000, "seq-int")
    got = {m.name: m for m in Latency(batch=100).collect(case)}
    case.close()
    assert "10 timed batches of 100" in got["latency_p50"].note
    assert got["latency_max"].value >= got["latency_p50"].value > 0
    assert got["latency_p50"].gc == "on"
    with pytest.raises(ValueError):
        Latency(batch=0)


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 1001))
    assert percentile(values, 50) == 500
    assert percentile(values, 99.9) == 999
    assert percentile(values, 100) == 1000
    assert percentile([7.0], 99) == 7.0


def test_measure_prints_every_metric_with_units_and_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["measure", "dict", "--workload", "insert", "--size", "3000", "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dict / insert / random-int / 3000 (seed 0)")
    for text in ("gc_threshold", "hash_seed", "python", "commit"):
        assert text in out
    for text in ("latency_p999", "gc_pause_total", "allocated_blocks_net", "alloc_peak_bytes"):
        assert text in out
    assert " µs " in out or " ns " in out  # times are shown in readable units
    assert "probe_hit_histogram" in out and "length:count 1:" in out


def test_measure_json_is_a_metrics_document(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["measure", "sharded,shards=4", "--workload", "churn", "--size", "2000"]
    assert main([*argv, "--key-kind", "short-str", "--seed", "3", "--repeat", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["format"], doc["version"]) == (schema.FORMAT, schema.VERSION)
    assert doc["environment"]["gc_threshold"]
    assert doc["environment"]["hash_seed"] == "0"  # pinned, as in run and ci
    (result,) = doc["results"]
    assert (result["map"], result["workload"], result["key_kind"]) == (
        "sharded,shards=4",
        "churn",
        "short-str",
    )
    assert result["seed"] == 3
    names = {m["name"] for m in result["metrics"]}
    assert {"time", "cpu_time", "latency_p50", "gc_collections", "memory_bytes_per_entry"} <= names
    assert {"probe_shard_imbalance", "tombstones", "alloc_net_bytes"} <= names
    assert len(COLLECTORS) == 6


def test_measure_bad_input_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measure", "dict", "--workload", "concurrent", "--size", "10"]) == 2
    assert "needs a map with thread-safe" in capsys.readouterr().err
    assert main(["measure", "dict", "--size", "0"]) == 2
    assert main(["measure", "dict", "--hash-seed", "random"]) == 2
