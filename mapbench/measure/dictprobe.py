"""Exact probe lengths of a live CPython `dict`, read from its index table with ctypes.

The reader copies the dict's `PyDictKeysObject` (3.10, 3.11, 3.12 and 3.13 layouts), validates it
against the dict (`ma_used == len(d)`, entry key pointers == the keys in order, stored hashes ==
`hash(key)`), then replays CPython's own probe sequence

    i = hash & mask; perturb = hash; repeat: perturb >>= 5; i = (5*i + perturb + 1) & mask

for every stored key (hits: until the slot holding the key's entry) and for every home slot
(misses: the search for hash value `h`, 0 <= h < size, until an empty slot). Probes are counted
including the last one. Any mismatch raises `DictProbeError` rather than reporting garbage.

Every read goes through `dict`'s own methods (`dict.__iter__`, `dict.__len__`), never a
subclass's overrides, so a subclass that reorders or hides keys (an LRU built on OrderedDict, a
sorted dict) is measured exactly as the table it is.

Other interpreters (other versions, PyPy, free-threaded builds) get `modelled_dict_probe_stats`,
which rebuilds the table by inserting the keys in order into a model of CPython's probing; its
results carry `source="modelled"`. For dicts built without deletions the two agree exactly.

Do not call these while another thread mutates the dict: the table may be freed mid-read.
"""

from __future__ import annotations

import ctypes
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mapbench.errors import MapbenchError
from mapbench.protocol import ProbeStats

PERTURB_SHIFT = 5
EMPTY, DUMMY = -1, -2  # DKIX_EMPTY and DKIX_DUMMY index values
MIN_LOG2_SIZE = 3  # PyDict_MINSIZE == 8
_MASK64 = (1 << 64) - 1

Int64Array = npt.NDArray[np.int64]
UInt64Array = npt.NDArray[np.uint64]


class DictProbeError(MapbenchError, RuntimeError):
    """The dict's memory does not match the expected layout, or the dict cannot be read."""


class _DictObject(ctypes.Structure):
    # PyDictObject, identical in 3.10-3.13 (ma_version_tag is _ma_watcher_tag in 3.13).
    _fields_ = [
        ("ob_refcnt", ctypes.c_ssize_t),
        ("ob_type", ctypes.c_void_p),
        ("ma_used", ctypes.c_ssize_t),
        ("ma_version_tag", ctypes.c_uint64),
        ("ma_keys", ctypes.c_void_p),
        ("ma_values", ctypes.c_void_p),
    ]


class _Keys310(ctypes.Structure):
    # 3.10: a full dk_size and a lookup function pointer; entries always store the hash.
    _fields_ = [
        ("dk_refcnt", ctypes.c_ssize_t),
        ("dk_size", ctypes.c_ssize_t),
        ("dk_lookup", ctypes.c_void_p),
        ("dk_usable", ctypes.c_ssize_t),
        ("dk_nentries", ctypes.c_ssize_t),
    ]


class _Keys311(ctypes.Structure):
    # 3.11-3.13 (with the GIL): log2 sizes and a kind; unicode tables store no hash per entry.
    _fields_ = [
        ("dk_refcnt", ctypes.c_ssize_t),
        ("dk_log2_size", ctypes.c_uint8),
        ("dk_log2_index_bytes", ctypes.c_uint8),
        ("dk_kind", ctypes.c_uint8),
        ("dk_version", ctypes.c_uint32),
        ("dk_usable", ctypes.c_ssize_t),
        ("dk_nentries", ctypes.c_ssize_t),
    ]


_KIND_GENERAL, _KIND_UNICODE, _KIND_SPLIT = 0, 1, 2
_GENERAL_ENTRY = np.dtype([("hash", "<i8"), ("key", "<u8"), ("value", "<u8")])
_UNICODE_ENTRY = np.dtype([("key", "<u8"), ("value", "<u8")])


def reader_unsupported() -> str | None:
    """Why the live-table reader cannot run here, or None when it can."""
    if sys.implementation.name != "cpython":
        return f"{sys.implementation.name} is not CPython"
    if sys.version_info[:2] not in ((3, 10), (3, 11), (3, 12), (3, 13)):
        return f"no dict layout known for CPython {sys.version_info[0]}.{sys.version_info[1]}"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "free-threaded builds use a different object layout"
    if ctypes.sizeof(ctypes.c_void_p) != 8 or sys.byteorder != "little":
        return "only 64-bit little-endian builds are supported"
    return None


def keys_address(d: dict[Any, Any]) -> int | None:
    """The address of the dict's keys object, which every resize replaces; None where the
    layout is unknown. Cheap (one read), for telling whether an operation resized the table."""
    if reader_unsupported() is not None:
        return None
    return int(_DictObject.from_address(id(d)).ma_keys or 0)


@dataclass(frozen=True)
class DictTable:
    """A validated copy of one dict's index table and entry hashes."""

    log2_size: int
    usable: int
    nentries: int
    index_bytes: int
    unicode: bool
    indices: Int64Array  # per slot: entry number, EMPTY or DUMMY
    hashes: UInt64Array  # per live entry, in entry order (the dict's iteration order)
    entries: Int64Array  # entry number of each live entry

    @property
    def size(self) -> int:
        return 1 << self.log2_size


def read_table(d: dict[Any, Any]) -> DictTable:
    """Copy and validate `d`'s index table; raise `DictProbeError` on any mismatch."""
    reason = reader_unsupported()
    if reason:
        raise DictProbeError(f"cannot read dict tables here: {reason}")
    if not isinstance(d, dict):
        raise DictProbeError(f"expected a dict (or subclass), got {type(d).__name__}")
    obj = _DictObject.from_address(id(d))
    keys = _keys(d)
    if obj.ma_used != len(keys):
        raise DictProbeError(f"layout mismatch: ma_used={obj.ma_used} but len(d)={len(keys)}")
    if obj.ma_values and not keys:
        # 3.10's empty dicts point at a static "empty values" array: nothing to read.
        return _empty_table()
    if obj.ma_values:
        raise DictProbeError("split (instance __dict__) tables are not supported")
    if not obj.ma_keys:
        raise DictProbeError("layout mismatch: ma_keys is NULL")
    table = _read_keys(obj.ma_keys, keys)
    if _DictObject.from_address(id(d)).ma_keys != obj.ma_keys or dict.__len__(d) != len(keys):
        raise DictProbeError("the dict changed while it was being read")
    return table


def _keys(d: dict[Any, Any]) -> list[Any]:
    """The keys in table order, through dict's own iterator (a subclass may override its own)."""
    return list(dict.__iter__(d))


def _empty_table() -> DictTable:
    size = 1 << MIN_LOG2_SIZE
    empty = np.zeros(0, dtype=np.int64)
    indices = np.full(size, EMPTY, dtype=np.int64)
    return DictTable(MIN_LOG2_SIZE, 0, 0, 1, False, indices, empty.view(np.uint64), empty)


def _read_keys(address: int, keys: list[Any]) -> DictTable:
    if sys.version_info[:2] == (3, 10):
        k10 = _Keys310.from_address(address)
        size, usable, nentries, kind = k10.dk_size, k10.dk_usable, k10.dk_nentries, _KIND_GENERAL
        if size < 8 or size & (size - 1):
            raise DictProbeError(f"layout mismatch: dk_size={size} is not a power of two >= 8")
        log2_size = size.bit_length() - 1
        width = 1 if size <= 0xFF else 2 if size <= 0xFFFF else 4 if size <= 0xFFFFFFFF else 8
        indices_at = address + ctypes.sizeof(_Keys310)
    else:
        k11 = _Keys311.from_address(address)
        log2_size, usable, nentries, kind = (
            k11.dk_log2_size,
            k11.dk_usable,
            k11.dk_nentries,
            k11.dk_kind,
        )
        log2_index_bytes = k11.dk_log2_index_bytes
        if log2_size == 0 and nentries == 0:
            # The shared empty keys object (Py_EMPTY_KEYS) says log2 0 but holds 8 EMPTY indices.
            log2_size = log2_index_bytes = MIN_LOG2_SIZE
        if not MIN_LOG2_SIZE <= log2_size < 48 or kind not in (_KIND_GENERAL, _KIND_UNICODE):
            raise DictProbeError(f"layout mismatch: log2_size={log2_size}, kind={kind}")
        width = (1 << log2_index_bytes) >> log2_size
        indices_at = address + ctypes.sizeof(_Keys311)
    size = 1 << log2_size
    if width not in (1, 2, 4, 8) or not 0 <= nentries <= size or usable < 0:
        raise DictProbeError(
            f"layout mismatch: size={size} index width={width} entries={nentries} usable={usable}"
        )
    raw_indices = ctypes.string_at(indices_at, size * width)
    indices = np.frombuffer(raw_indices, dtype=f"<i{width}").astype(np.int64)
    entry_type = _UNICODE_ENTRY if kind == _KIND_UNICODE else _GENERAL_ENTRY
    raw_entries = ctypes.string_at(indices_at + size * width, nentries * entry_type.itemsize)
    entries = np.frombuffer(raw_entries, dtype=entry_type)
    live = np.flatnonzero(entries["key"] != 0)
    hashes = _validated_hashes(entries, live, keys, kind == _KIND_UNICODE)
    used = indices[indices >= 0]
    if len(used) != len(live) or not np.array_equal(np.sort(used), live):
        raise DictProbeError("layout mismatch: the index table does not point at the live entries")
    return DictTable(
        log2_size, usable, nentries, width, kind == _KIND_UNICODE, indices, hashes, live
    )


def _validated_hashes(
    entries: npt.NDArray[Any], live: Int64Array, keys: list[Any], unicode: bool
) -> UInt64Array:
    if len(live) != len(keys):
        raise DictProbeError(f"layout mismatch: {len(live)} live entries but {len(keys)} keys")
    key_ids = np.fromiter((id(k) for k in keys), dtype=np.uint64, count=len(keys))
    if not np.array_equal(entries["key"][live], key_ids):
        raise DictProbeError("layout mismatch: entry key pointers differ from the dict's keys")
    computed = np.fromiter((hash(k) for k in keys), dtype=np.int64, count=len(keys))
    if unicode:
        if not all(type(k) is str for k in keys):
            raise DictProbeError("layout mismatch: a unicode-kind table holds a non-str key")
        return computed.view(np.uint64)
    stored = entries["hash"][live].astype(np.int64)
    if not np.array_equal(stored, computed):
        raise DictProbeError("layout mismatch: stored hashes differ from hash(key)")
    return stored.view(np.uint64)


def model_indices(hashes: Iterable[int], log2_size: int) -> Int64Array:
    """The index table CPython builds by inserting keys with `hashes`, in order, with no deletions.

    Each key takes the first free slot of its probe sequence (`find_empty_slot`).
    """
    mask = (1 << log2_size) - 1
    table = [EMPTY] * (mask + 1)
    for entry, signed_hash in enumerate(hashes):
        perturb = signed_hash & _MASK64
        i = perturb & mask
        while table[i] >= 0:
            perturb >>= PERTURB_SHIFT
            i = (i * 5 + perturb + 1) & mask
        table[i] = entry
    return np.array(table, dtype=np.int64)


def model_log2_size(n: int) -> int:
    """log2 of the table size CPython reaches after `n` inserts into an empty dict (no deletions).

    A full table (dk_usable == 0) grows to the smallest power of two >= 3 * used (GROWTH_RATE),
    and holds USABLE_FRACTION(size) == 2*size//3 entries.
    """
    log2_size, usable = MIN_LOG2_SIZE, (2 << MIN_LOG2_SIZE) // 3
    for used in range(n):  # `used` entries are stored before this insert
        if usable <= 0:
            log2_size = max(MIN_LOG2_SIZE, (3 * used - 1).bit_length())
            usable = (2 << log2_size) // 3 - used
        usable -= 1
    return log2_size


def probe_lengths(
    indices: Int64Array, hashes: UInt64Array, targets: Int64Array | None
) -> Int64Array:
    """Probe count of each search for `hashes` (vectorized replay of CPython's sequence).

    With `targets`, search i ends at the slot holding entry `targets[i]` (a hit; reaching an empty
    slot first raises `DictProbeError`); without, it ends at the first empty slot (a miss).
    """
    mask = np.uint64(len(indices) - 1)
    shift, five, one = np.uint64(PERTURB_SHIFT), np.uint64(5), np.uint64(1)
    lengths = np.zeros(len(hashes), dtype=np.int64)
    pending = np.arange(len(hashes))
    perturb = hashes.astype(np.uint64)
    slot = perturb & mask
    step = 1
    while pending.size:
        found = indices[slot]
        if targets is None:
            done = found == EMPTY
        else:
            done = found == targets[pending]
            if np.any(found[~done] == EMPTY):
                raise DictProbeError("probe replay reached an empty slot before a stored key")
        lengths[pending[done]] = step
        keep = ~done
        pending, slot, perturb = pending[keep], slot[keep], perturb[keep]
        perturb >>= shift
        slot = (slot * five + perturb + one) & mask
        step += 1
        if step > len(indices) + 64:  # once perturb is 0 every slot is visited within size steps
            raise DictProbeError("probe replay did not terminate")
    return lengths


def _histogram(lengths: Int64Array) -> tuple[int, ...]:
    return tuple(int(c) for c in np.bincount(lengths)) if lengths.size else ()


def table_probe_stats(table: DictTable, source: str = "measured") -> ProbeStats:
    """Exact hit and miss histograms of a (read or modelled) table."""
    hits = probe_lengths(table.indices, table.hashes, table.entries)
    homes = np.arange(table.size, dtype=np.uint64)
    misses = probe_lengths(table.indices, homes, None)
    return ProbeStats(
        size=len(table.entries),
        capacity=table.size,
        probe_unit="slot",
        hit_histogram=_histogram(hits),
        miss_histogram=_histogram(misses),
        tombstones=int(np.count_nonzero(table.indices == DUMMY)),
        extra={
            "usable_left": table.usable,
            "entries_used": table.nentries,
            "index_bytes": table.index_bytes,
            "unicode_table": int(table.unicode),
        },
        source="modelled" if source == "modelled" else "measured",
    )


def model_table(d: dict[Any, Any] | Sequence[Any], log2_size: int | None = None) -> DictTable:
    """The table CPython's probing gives the keys of `d` inserted in order without deletions."""
    keys = _keys(d) if isinstance(d, dict) else list(d)
    log2 = model_log2_size(len(keys)) if log2_size is None else log2_size
    hashes = np.fromiter((hash(k) for k in keys), dtype=np.int64, count=len(keys))
    size = 1 << log2
    return DictTable(
        log2_size=log2,
        usable=(2 * size) // 3 - len(keys),
        nentries=len(keys),
        index_bytes=1 if size <= 0x80 else 2 if size <= 0x8000 else 4 if size <= 2**31 else 8,
        unicode=sys.version_info >= (3, 11) and all(type(k) is str for k in keys),
        indices=model_indices(hashes.tolist(), log2),
        hashes=hashes.view(np.uint64),
        entries=np.arange(len(keys), dtype=np.int64),
    )


def modelled_dict_probe_stats(d: dict[Any, Any]) -> ProbeStats:
    """Probe statistics from the model (keys inserted in order into a fresh table), "modelled"."""
    return table_probe_stats(model_table(d), source="modelled")


def dict_probe_stats(d: dict[Any, Any]) -> ProbeStats:
    """Exact probe statistics read from `d`'s live table, or modelled where the reader cannot run.

    A reader that can run but finds a mismatch raises `DictProbeError`; it never falls back.
    """
    if reader_unsupported():
        return modelled_dict_probe_stats(d)
    return table_probe_stats(read_table(d))


def merged_dict_probe_stats(dicts: Sequence[dict[Any, Any]]) -> ProbeStats:
    """One `ProbeStats` for a map made of several dicts, with how evenly they share the keys."""
    parts = [dict_probe_stats(d) for d in dicts]
    if len(parts) == 1:
        return parts[0]
    sizes = [p.size for p in parts]
    total = sum(sizes)
    return merge_probe_stats(
        parts,
        shard_imbalance=max(sizes) * len(sizes) / total if total else 1.0,
        shard_size_min=min(sizes),
        shard_size_max=max(sizes),
    )


def merge_probe_stats(parts: Sequence[ProbeStats], **extra: float) -> ProbeStats:
    """One `ProbeStats` for a map made of several tables (e.g. shards): histograms summed."""
    if not parts:
        raise ValueError("nothing to merge")
    return ProbeStats(
        size=sum(p.size for p in parts),
        capacity=sum(p.capacity for p in parts),
        probe_unit=parts[0].probe_unit,
        hit_histogram=_sum_histograms(p.hit_histogram for p in parts),
        miss_histogram=_sum_histograms(p.miss_histogram for p in parts),
        tombstones=sum(p.tombstones for p in parts),
        resizes=sum(p.resizes for p in parts),
        extra={"tables": len(parts), **extra},
        source="modelled" if any(p.source == "modelled" for p in parts) else "measured",
    )


def _sum_histograms(histograms: Iterable[Sequence[int]]) -> tuple[int, ...]:
    total: list[int] = []
    for histogram in histograms:
        total.extend([0] * (len(histogram) - len(total)))
        for length, count in enumerate(histogram):
            total[length] += count
    return tuple(total)


__all__ = [
    "DictProbeError",
    "DictTable",
    "dict_probe_stats",
    "keys_address",
    "merge_probe_stats",
    "merged_dict_probe_stats",
    "model_indices",
    "model_log2_size",
    "model_table",
    "modelled_dict_probe_stats",
    "probe_lengths",
    "read_table",
    "reader_unsupported",
    "table_probe_stats",
]
