"""The C maps beyond the conformance suite: hash, exact stats, options, buffers, lifetime."""

from __future__ import annotations

import ctypes
import gc
import math
import random
import subprocess
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from mapbench.impls import cmaps
from mapbench.impls.cmaps import CMap

from mapbench.cli import main
from mapbench.protocol import BatchOps, Presizable, ProbeStatsReporter
from mapbench.registry import MapSpecError, parse_spec, registry

M64 = 2**64 - 1
SCHEMES = list(cmaps.SCHEMES)
OPEN = ["linear", "quadratic", "double"]


@pytest.fixture
def lib() -> Any:
    return cmaps.library()


def mix64(x: int) -> int:
    """SplitMix64's finalizer, as in cmap.c."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def key_hash(lib: Any, seed: int, key: int | str | bytes) -> int:
    """The hash the C code gives `key`: SipHash-1-3, keyed by the seed and the key's type tag."""
    k0 = mix64(seed)
    k1 = mix64(k0)
    if isinstance(key, int):
        tag, data = 1, key.to_bytes(8, "little", signed=True)
    elif isinstance(key, bytes):
        tag, data = 2, key
    else:
        tag, data = 3, key.encode()
    return int(lib.cm_siphash(k0 ^ ((tag * 0x9E3779B97F4A7C15) & M64), k1, data, len(data), 1, 3))


def test_every_scheme_is_registered_and_available() -> None:
    for scheme in SCHEMES:
        info = registry()[f"c-{scheme}"]
        assert info.available, info.unavailable
        m = info.create()
        assert isinstance(m, ProbeStatsReporter)
        assert isinstance(m, BatchOps)
        assert isinstance(m, Presizable)
        m.close()


def test_missing_library_makes_maps_unavailable_with_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> Any:
        raise FileNotFoundError("C library _cmap not built")

    monkeypatch.setattr(cmaps, "_library_path", missing)
    cmaps.library.cache_clear()
    try:
        infos = cmaps._maps()
    finally:
        monkeypatch.undo()
        cmaps.library.cache_clear()
    assert [i.name for i in infos] == [f"c-{s}" for s in SCHEMES]
    assert all(not i.available and "not built" in (i.unavailable or "") for i in infos)


def test_siphash_matches_the_reference_vector(lib: Any) -> None:
    # SipHash-2-4 test vector from the paper: key 00..0f, message 00..0e.
    key0, key1 = 0x0706050403020100, 0x0F0E0D0C0B0A0908
    assert lib.cm_siphash(key0, key1, bytes(range(15)), 15, 2, 4) == 0xA129CA6149BE45E5


def test_siphash_matches_cpython_bytes_hash(lib: Any) -> None:
    # With PYTHONHASHSEED=0 CPython keys its SipHash with zeros (1-3 since 3.11, 2-4 before).
    samples = [b"a", b"hello", b"exactly8", b"a longer message of many bytes"]
    code = f"import sys; print(sys.hash_info.algorithm); print(*[hash(s) for s in {samples!r}])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    algorithm, hashes = out[0], [int(h) for h in out[1:]]
    rounds = {"siphash13": (1, 3), "siphash24": (2, 4)}
    if algorithm not in rounds:
        pytest.skip(f"CPython built with {algorithm}")
    for sample, expected in zip(samples, hashes, strict=True):
        ours = lib.cm_siphash(0, 0, sample, len(sample), *rounds[algorithm])
        signed = ours - 2**64 if ours >= 2**63 else ours
        assert (signed if signed != -1 else -2) == expected


def model_open_addressing(
    scheme: str, hashes: list[int], cap: int, k1: int
) -> tuple[Counter[int], Counter[int]]:
    """Hit and miss histograms of a fresh table, computed independently of the C code."""
    mask = cap - 1
    slots: list[int | None] = [None] * cap

    def path(h: int) -> Iterator[int]:
        pos, step = h & mask, ((h >> 32) | 1) if scheme == "double" else 1
        while True:
            yield pos
            pos = (pos + step) & mask
            step += scheme == "quadratic"

    for h in hashes:
        slots[next(p for p in path(h) if slots[p] is None)] = h
    hit = Counter(next(n for n, p in enumerate(path(h), 1) if slots[p] == h) for h in hashes)
    miss: Counter[int] = Counter()
    for home in range(cap):
        h = (mix64(home ^ k1) & ~mask & M64) | home
        miss[next(n for n, p in enumerate(path(h), 1) if slots[p] is None)] += 1
    return hit, miss


def model_swiss(hashes: list[int], positions: int, k1: int) -> tuple[Counter[int], Counter[int]]:
    """abseil's probing: unaligned 16-wide windows from a salted H1, triangular steps of 16."""
    mask = positions - 1  # = the capacity; position `mask` holds the sentinel, no slot
    salt = mix64((k1 + positions) & M64)
    full: set[int] = {mask}

    def windows(start: int) -> Iterator[list[int]]:
        pos, index = start, 0
        while True:
            yield [(pos + i) & mask for i in range(16)]
            index += 16
            pos = (pos + index) & mask

    def start(h: int) -> int:
        return ((h >> 7) ^ salt) & mask

    where = {}
    for h in hashes:
        window = next(w for w in windows(start(h)) if any(p not in full for p in w))
        where[h] = next(p for p in window if p not in full)
        full.add(where[h])
    hit = Counter(
        next(n for n, w in enumerate(windows(start(h)), 1) if where[h] in w) for h in hashes
    )
    miss = Counter(
        next(n for n, w in enumerate(windows(home), 1) if any(p not in full for p in w))
        for home in range(positions)
    )
    return hit, miss


def model_gobucket(hashes: list[int], nbuckets: int) -> tuple[Counter[int], Counter[int]]:
    chains: list[list[int]] = [[] for _ in range(nbuckets)]
    for h in hashes:
        chains[h & (nbuckets - 1)].append(h)
    hit = Counter(i // 8 + 1 for chain in chains for i in range(len(chain)))
    miss = Counter(max(1, math.ceil(len(chain) / 8)) for chain in chains)
    return hit, miss


def histogram(counter: Counter[int]) -> tuple[int, ...]:
    return tuple(counter.get(i, 0) for i in range(max(counter) + 1))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_probe_histograms_match_an_independent_model(lib: Any, scheme: str) -> None:
    seed, cap = 7, 256
    keys: list[int | str | bytes] = [*range(-60, 60, 3), *(f"s{i}" for i in range(30))]
    keys += [b"b%d" % i for i in range(30)]
    m = CMap(scheme, seed=seed, capacity=cap, max_load=0.9)
    for k in keys:
        m[k] = 1
    stats = m.probe_stats()
    m.close()
    assert stats.resizes == 0, "the model describes a table that never resized"
    hashes = [key_hash(lib, seed, k) for k in keys]
    k1 = mix64(mix64(seed))
    if scheme in OPEN:
        hit, miss = model_open_addressing(scheme, hashes, cap, k1)
    elif scheme == "swiss":
        hit, miss = model_swiss(hashes, cap, k1)
    else:
        hit, miss = model_gobucket(hashes, cap // 8)
    assert stats.hit_histogram == histogram(hit)
    assert stats.miss_histogram == histogram(miss)


def test_str_and_bytes_keys_stay_distinct_and_keep_their_types() -> None:
    m = CMap("swiss")
    keys = ["a", b"a", "", b"", "\ud800 lone surrogate", "ключ", 97]
    for i, k in enumerate(keys):
        m[k] = i
    assert len(m) == len(keys)
    assert [m[k] for k in keys] == list(range(len(keys)))
    assert sorted(map(repr, m)) == sorted(map(repr, keys))
    m.close()


def test_subclasses_are_stored_as_their_base_type() -> None:
    class Name(str):
        pass

    m = CMap("linear")
    m[Name("x")] = 1
    assert m["x"] == 1
    assert [type(k) for k in m] == [str]
    m.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_unsupported_types_and_ranges_are_rejected(scheme: str) -> None:
    m = CMap(scheme)
    with pytest.raises(TypeError, match="supported: int, str, bytes"):
        m[1.5] = 1
    with pytest.raises(TypeError, match="supported: int, bytes"):
        m[1] = "text"
    with pytest.raises(TypeError, match="supported"):
        m[True] = 1
    with pytest.raises(OverflowError):
        m[2**63] = 1
    with pytest.raises(OverflowError):
        m[1] = -(2**63) - 1
    assert 1.5 not in m and 2**70 not in m
    assert len(m) == 0
    m.close()


def test_use_after_close_raises_and_close_twice_is_harmless() -> None:
    m = CMap("gobucket")
    m[1] = 1
    m.close()
    m.close()
    uses = [lambda: m[1], lambda: m.get(1), lambda: 1 in m, lambda: m["s"], lambda: len(m)]
    uses += [lambda: list(m), m.probe_stats, m.clear, m.layout, lambda: m.reserve(10)]
    for use in uses:
        with pytest.raises(ValueError, match="closed"):
            use()
    for key in (1, "s"):
        with pytest.raises(ValueError, match="closed"):
            m[key] = 2
        with pytest.raises(ValueError, match="closed"):
            del m[key]
    with pytest.raises(ValueError, match="closed"):
        m.insert_many(array("q", [1]), array("q", [1]))
    assert "closed" in repr(m)


def test_garbage_collection_frees_unclosed_maps() -> None:
    """An unclosed map's __del__ frees its C table, once (leaks: `nox -s valgrind`)."""
    m = CMap("swiss")
    m[b"k"] = b"v" * 1000
    lib, freed = m._lib, []

    class Recording:  # the library, with cm_free calls recorded
        def __getattr__(self, name: str) -> Any:
            return getattr(lib, name)

        def cm_free(self, handle: int) -> None:
            freed.append(handle)
            lib.cm_free(handle)

    handle, m._lib = m._h, Recording()
    del m
    gc.collect()
    assert handle and freed == [handle]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"max_load": 0.99}, ValueError),
        ({"max_load": 0}, ValueError),
        ({"max_load": "high"}, TypeError),
        ({"capacity": -1}, ValueError),
        ({"seed": 1.5}, TypeError),
    ],
)
def test_bad_options_raise_clear_errors(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error, match=next(iter(options))):
        CMap("linear", **options)


def test_options_come_from_the_spec_string() -> None:
    m = parse_spec("c-linear,max_load=0.5,capacity=1024,seed=3").create()
    m[1] = 1
    assert isinstance(m, CMap)
    stats = m.probe_stats()
    assert (stats.capacity, stats.extra["max_load"]) == (1024, 0.5)
    m.close()
    with pytest.raises(MapSpecError, match="max_load"):
        parse_spec("c-gobucket,max_load=0.5")
    with pytest.raises(TypeError, match="incremental"):
        parse_spec("c-gobucket,incremental=1").create()


def test_batch_ops_take_numpy_and_read_only_buffers() -> None:
    m = CMap("double")
    keys = np.arange(1000, dtype=np.int64) * 7
    m.insert_many(keys, -keys)
    assert m[7 * 999] == -7 * 999
    frozen = memoryview(array("q", range(0, 7000, 7)).tobytes()).cast("q")
    assert frozen.readonly and m.lookup_many(frozen) == 1000
    assert m.lookup_many(keys[::2]) == 500  # strided: copied, not rejected
    assert m.delete_many(np.array([0, 7, 8], dtype=np.int64)) == 2
    assert len(m) == 998
    with pytest.raises(TypeError, match="int64"):
        m.lookup_many(np.arange(3, dtype=np.int32))
    with pytest.raises(TypeError, match="int64"):
        m.lookup_many([1, 2, 3])
    with pytest.raises(ValueError, match="values"):
        m.insert_many(array("q", [1, 2]), array("q", [1]))
    assert m.lookup_many(array("q")) == 0
    m.close()


@pytest.mark.parametrize("scheme", ["linear", "swiss"])
def test_tombstones_are_counted_reused_and_purged(scheme: str) -> None:
    m = CMap(scheme, capacity=1024)
    for i in range(600):
        m[i] = i
    for i in range(0, 600, 2):
        del m[i]
    stats = m.probe_stats()
    assert stats.size == 300
    assert sum(stats.hit_histogram) == 300
    assert stats.tombstones > 0  # swiss frees a slot outright when its group has an empty one
    for i in range(2000, 4000):
        m[i] = i
    assert m.probe_stats().tombstones < stats.tombstones or m.probe_stats().resizes > 0
    assert all(m[i] == i for i in range(1, 600, 2))
    m.close()


def test_clear_keeps_capacity_and_counters() -> None:
    m = CMap("quadratic")
    m.insert_many(array("q", range(5000)), array("q", range(5000)))
    before = m.probe_stats()
    m.clear()
    after = m.probe_stats()
    assert (after.size, after.capacity, after.resizes) == (0, before.capacity, before.resizes)
    assert after.hit_histogram == () and after.miss_histogram == (0, after.capacity)
    m.close()


def test_reserve_prevents_resizes() -> None:
    for scheme in SCHEMES:
        m = CMap(scheme)
        m.reserve(20_000)
        resizes = m.probe_stats().resizes
        m.insert_many(array("q", range(20_000)), array("q", range(20_000)))
        assert m.probe_stats().resizes == resizes, scheme
        m.close()


@pytest.mark.parametrize("incremental", [True, False])
def test_gobucket_evacuates_incrementally_only_when_asked(incremental: bool) -> None:
    m = CMap("gobucket", incremental=incremental, capacity=8 * 64)
    threshold = int(6.5 * 64)  # the insert after this one starts growing 64 -> 128 buckets
    m.insert_many(array("q", range(threshold + 1)), array("q", range(threshold + 1)))
    stats = m.probe_stats()
    assert stats.resizes == 1 and stats.capacity == 8 * 128
    assert stats.extra["growing"] == (1.0 if incremental else 0.0)
    # Deterministic counterpart of the longest insert: entries moved by one insert.
    if incremental:
        assert 0 < stats.extra["max_insert_moves"] <= 4 * 8
    else:
        assert stats.extra["max_insert_moves"] == threshold
    assert sum(stats.hit_histogram) == len(m) == threshold + 1
    assert m.lookup_many(array("q", range(threshold + 1))) == threshold + 1
    # Each write evacuates at most two old buckets, so 64 more writes finish the growth.
    for i in range(64):
        m[-i - 1] = i
    assert m.probe_stats().extra["growing"] == 0.0
    assert m.lookup_many(array("q", range(threshold + 1))) == threshold + 1
    m.close()


def test_probe_stats_are_deterministic_for_a_seed() -> None:
    def stats(seed: int) -> Any:
        m = CMap("linear", seed=seed, capacity=4096, max_load=0.9)
        m.insert_many(array("q", range(3500)), array("q", range(3500)))
        s = m.probe_stats()
        m.close()
        return s.hit_histogram, s.miss_histogram

    assert stats(1) == stats(1)
    assert stats(1) != stats(2)


@pytest.mark.parametrize("scheme", ["linear", "double"])
def test_linear_and_double_hashing_agree_with_knuth(scheme: str) -> None:
    from mapbench.commands.probe import measure_at_load

    for load in (0.5, 0.75):
        row = measure_at_load(parse_spec(f"c-{scheme}"), load, 2**18, seed=1)
        assert row.size == round(load * 2**18)
        assert row.theory_hit_mean is not None and row.theory_miss_mean is not None
        assert row.hit_mean == pytest.approx(row.theory_hit_mean, rel=0.02)
        assert row.miss_mean == pytest.approx(row.theory_miss_mean, rel=0.02)


def test_probe_command_prints_measured_next_to_modelled(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "c-linear", "--load", "0.75", "--capacity", "4096"]) == 0
    out = capsys.readouterr().out
    assert "hit (measured)" in out and "theory, modelled" in out and "Knuth" in out
    assert "c-linear  0.7500  slot" in out
    assert main(["probe", "c-gobucket", "--load", "0.5", "--capacity", "4096", "--json"]) == 0
    assert '"theory": null' in capsys.readouterr().out
    assert main(["probe", "c-linear", "--load", "0.99"]) == 2


def test_gobucket_bucket_is_go_s_144_bytes_until_a_box_needs_kind_bytes() -> None:
    m = CMap("gobucket")
    m.insert_many(array("q", range(1000)), array("q", range(1000)))
    assert m.layout()["unit_bytes"] == 144  # tophash[8], keys[8], values[8], overflow pointer
    before = m.probe_stats()
    m["str key"] = b"bytes value"
    assert m.layout()["unit_bytes"] == 152  # a rebuild added 8 kind bytes per bucket
    after = m.probe_stats()
    assert (after.resizes, after.capacity) == (before.resizes, before.capacity)
    assert after.extra["max_insert_moves"] >= 1000  # the rebuild moved every entry at once
    assert m.lookup_many(array("q", range(1000))) == 1000 and m["str key"] == b"bytes value"
    m.close()


@pytest.mark.parametrize("capacity", [0, 16, 100, 4096])
def test_swiss_control_array_is_capacity_plus_group_width_plus_one(capacity: int) -> None:
    m = CMap("swiss", capacity=capacity)
    layout = m.layout()
    slots = m.probe_stats().capacity
    assert layout["units"] == slots and (slots + 1) & slots == 0  # 2**k - 1 slots
    assert slots >= max(capacity - 1, 15)
    assert layout["group_width"] == 16 and layout["unit_bytes"] == 16  # slot = key + value
    assert layout["meta_bytes"] == slots + layout["group_width"] + 1  # sentinel, 16 clones
    assert layout["kind_bytes"] == 0
    m[b"k"] = 1
    assert m.layout()["kind_bytes"] == slots  # kept apart, once a box is stored
    m.close()


@pytest.mark.parametrize("scheme", OPEN)
def test_open_addressing_keeps_16_byte_slots_and_a_metadata_byte_apart(scheme: str) -> None:
    m = CMap(scheme, capacity=1024)
    assert m.layout() == {
        "unit_bytes": 16,
        "units": 1024,
        "meta_bytes": 1024,
        "group_width": 0,
        "kind_bytes": 0,
    }
    m.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_impossible_sizes_raise_at_once_and_leave_the_map_usable(scheme: str) -> None:
    m = CMap(scheme)
    m[1] = 1
    start = time.monotonic()
    for n in (2**62, 2**63 - 1, 2**48 + 1):
        with pytest.raises((MemoryError, OverflowError)):
            m.reserve(n)
    with pytest.raises(OverflowError):
        m.reserve(2**63)
    assert time.monotonic() - start < 1.0
    assert m[1] == 1 and len(m) == 1
    m.reserve(1000)
    m.close()


def test_the_c_api_rejects_negative_lengths_and_bad_tags(lib: Any) -> None:
    m = CMap("linear")
    h, out = m._handle(), ctypes.c_int64()
    einval = -3
    assert lib.cm_put(h, 3, -1, b"x", 1, 0, None) == einval  # str key of length -1
    assert lib.cm_put(h, 2, -(2**63), b"x", 1, 0, None) == einval
    assert lib.cm_put(h, 1, 5, None, 2, -4, b"x") == einval  # bytes value of length -4
    assert lib.cm_put(h, 9, 5, None, 1, 0, None) == einval  # no such tag
    assert lib.cm_get(h, 2, -1, b"x", ctypes.byref(out), None, 0) == einval
    assert lib.cm_del(h, 3, -7, b"x") == einval
    assert lib.cm_reserve(h, -1) == einval
    keys = (ctypes.c_int64 * 1)(1)
    assert lib.cm_insert_many(h, keys, keys, -1) == einval
    assert lib.cm_lookup_many(h, keys, -1) == einval and lib.cm_delete_many(h, keys, -1) == einval
    assert len(m) == 0
    m.close()


def test_the_default_build_reads_no_clock() -> None:
    assert b"clock_gettime" not in cmaps._library_path().read_bytes()
    m = CMap("swiss")
    m.insert_many(array("q", range(5000)), array("q", range(5000)))
    stats = m.probe_stats()
    assert not hasattr(stats, "longest_insert_ns") and stats.extra["max_insert_moves"] > 0
    m.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_batches_and_single_calls_build_the_same_table(scheme: str) -> None:
    rng = random.Random(3)
    keys = array("q", dict.fromkeys(rng.getrandbits(64) - 2**63 for _ in range(20_000)))
    batch, single = CMap(scheme, seed=5), CMap(scheme, seed=5)
    batch.insert_many(keys, keys)
    for k in keys:
        single[k] = k
    assert batch.probe_stats() == single.probe_stats()
    assert batch.delete_many(keys[::3]) == len(keys[::3])
    for k in keys[::3]:
        del single[k]
    assert batch.probe_stats() == single.probe_stats()
    assert batch.lookup_many(keys) == single.lookup_many(keys) == len(keys) - len(keys[::3])
    batch.close()
    single.close()


def test_gobucket_empty_rest_marks_end_lookups_after_deletes() -> None:
    m = CMap("gobucket", incremental=False, capacity=8 * 64)
    keys = array("q", range(400))  # about 6 per bucket: some chains have overflow buckets
    m.insert_many(keys, keys)
    full = m.probe_stats()
    assert full.extra["overflow_buckets"] > 0
    assert len(full.miss_histogram) > 2  # a miss reads a whole chain, overflow buckets included
    assert m.delete_many(keys) == 400
    empty = m.probe_stats()
    assert empty.extra["overflow_buckets"] == full.extra["overflow_buckets"]  # still linked
    assert empty.miss_histogram == (0, 64)  # EMPTY_REST in slot 0 ends every lookup at once
    m.close()


def test_gobucket_sheds_piled_up_overflow_buckets_by_growing_at_the_same_size() -> None:
    rng = random.Random(1)
    m = CMap("gobucket", capacity=8 * 256)
    live: list[int] = []
    for i in range(60_000):  # churn at ~6 entries per bucket: chains grow, empty slots scatter
        k = rng.getrandbits(63)
        m[k] = i
        live.append(k)
        if len(live) > 1500:
            del m[live.pop(rng.randrange(len(live)))]
    stats = m.probe_stats()
    assert stats.resizes >= 1 and stats.capacity == 8 * 256  # Go's sameSizeGrow
    assert stats.extra["overflow_buckets"] < 256
    assert m.lookup_many(array("q", live)) == len(live) == len(m)
    m.close()
