"""Our own C hash tables (impls/csrc), five schemes laid out as their designs, loaded with ctypes.

The library is compiled by the package build (setup.py) into `mapbench/impls/_cmap*.so`; nothing is
compiled at import. If it is missing, every C map is listed as unavailable with the reason.
Calls go through `ctypes.PyDLL`, which keeps the GIL held, so no two threads are ever inside the
same table at once (the maps still do not claim to be thread-safe: a Python-level operation such as
iteration makes several calls).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.machinery
import sys
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, NoReturn, cast

from mapbench.protocol import (
    INT64_MAX,
    INT64_MIN,
    ProbeStats,
    check_key,
    check_value,
    iter_update_items,
)
from mapbench.registry import MapInfo, unavailable

# Must match the enums in impls/csrc/cmap.h.
_INT, _BYTES, _STR = 1, 2, 3
_ENOMEM, _ECLOSED, _EINVAL, _ETOOBIG = -1, -2, -3, -4
SCHEMES = {"linear": 0, "quadratic": 1, "double": 2, "gobucket": 3, "swiss": 4}
_PROBE_UNITS = ("slot", "bucket", "group")
_VALUE_BUFFER = 256  # bytes values up to this size are read in one call
MAX_LOAD_LIMIT = 0.95
_INT64_FORMATS = {"q", "l", "=q", "=l", "<q" if sys.byteorder == "little" else ">q"}
_INT64_FORMATS |= {f.replace("q", "l") for f in _INT64_FORMATS}


class _Stats(ctypes.Structure):
    """Mirror of `cm_stats_out`."""

    _fields_ = [
        (name, ctypes.c_int64)
        for name in (
            "size",
            "capacity",
            "probe_unit",
            "tombstones",
            "resizes",
            "longest_insert_ns",
            "homes",
            "overflow_buckets",
            "growing",
            "hit_len",
            "miss_len",
            "max_insert_moves",
        )
    ] + [("max_load", ctypes.c_double)]


_LAYOUT_FIELDS = ("unit_bytes", "units", "meta_bytes", "group_width", "kind_bytes")


class _Layout(ctypes.Structure):
    """Mirror of `cm_layout_out`."""

    _fields_ = [(name, ctypes.c_int64) for name in _LAYOUT_FIELDS]


class _Call(ctypes.Structure):
    """Mirror of `cm_call`: the block through which the int-key calls pass their arguments."""

    _fields_ = [("map", ctypes.c_void_p), ("key", ctypes.c_int64), ("val", ctypes.c_int64)]


def _library_path() -> Path:
    here = Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = here / f"_cmap{suffix}"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"C library _cmap not built in {here} (install the package with pip to compile impls/csrc)"
    )


def load_library(path: str | Path) -> ctypes.PyDLL:
    """A build of the C library at `path` with every function's signature declared.

    The call-block functions (`cm_call_*`) get no `argtypes`: they take one pointer, and ctypes
    converts nothing when they are called with a prebuilt `byref`, which halves the call's cost.
    """
    lib = ctypes.PyDLL(str(path))
    h, i64, p64 = ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)
    buf, c_int = ctypes.c_char_p, ctypes.c_int
    signatures: dict[str, tuple[Any, list[Any] | None]] = {
        "cm_new": (h, [c_int, ctypes.c_uint64, ctypes.c_double, i64, c_int]),
        "cm_free": (None, [h]),
        "cm_len": (i64, [h]),
        "cm_key_bytes": (i64, [h]),
        "cm_put": (c_int, [h, c_int, i64, buf, c_int, i64, buf]),
        "cm_get": (c_int, [h, c_int, i64, buf, p64, buf, i64]),
        "cm_del": (c_int, [h, c_int, i64, buf]),
        "cm_call_get": (c_int, None),
        "cm_call_put": (c_int, None),
        "cm_call_del": (c_int, None),
        "cm_clear": (None, [h]),
        "cm_reserve": (c_int, [h, i64]),
        "cm_insert_many": (i64, [h, p64, p64, i64]),
        "cm_lookup_many": (i64, [h, p64, i64]),
        "cm_delete_many": (i64, [h, p64, i64]),
        "cm_export_keys": (i64, [h, buf, p64, buf, i64, i64]),
        "cm_stats": (c_int, [h, ctypes.POINTER(_Stats)]),
        "cm_hist_copy": (i64, [h, c_int, p64, i64]),
        "cm_layout": (c_int, [h, ctypes.POINTER(_Layout)]),
        "cm_siphash": (ctypes.c_uint64, [ctypes.c_uint64, ctypes.c_uint64, buf, i64, c_int, c_int]),
        "cm_simd": (c_int, []),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


@functools.cache
def library() -> ctypes.PyDLL:
    """The C library built with the package."""
    return load_library(_library_path())


def _encode(obj: Any) -> tuple[int, int, bytes | None]:
    """(tag, int value or byte length, bytes) of an already type-checked key or value."""
    if isinstance(obj, int):
        return _INT, int(obj), None
    if isinstance(obj, str):
        data = str(obj).encode("utf-8", "surrogatepass")  # any str, lone surrogates included
        return _STR, len(data), data
    data = bytes(obj)
    return _BYTES, len(data), data


class _Int64Buffer(NamedTuple):
    """A 1-D buffer of int64 as the C calls take it: its first element (None when empty), whose
    address ctypes passes, and its length."""

    first: ctypes.c_int64 | None
    length: int


def _int64_buffer(obj: Any, what: str) -> _Int64Buffer:
    """The buffer in place (copied only if read-only or not contiguous).

    No ctypes array type is made: one per length (`c_int64 * n`) would be cyclic garbage on
    every call, and a batch would allocate what its map does not.
    """
    message = (
        f"{what} must be a 1-D buffer of int64 (array('q') or a numpy int64 array), "
        f"not {type(obj).__name__!r}"
    )
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(message) from None
    if view.ndim != 1 or view.itemsize != 8 or view.format not in _INT64_FORMATS:
        raise TypeError(message)
    if not len(view):
        return _Int64Buffer(None, 0)
    writable = bytearray(view.tobytes()) if view.readonly or not view.c_contiguous else view
    return _Int64Buffer(ctypes.c_int64.from_buffer(writable), len(view))


class CMap(MutableMapping[Any, Any]):
    """One C hash table; keys int64/str/bytes (str and bytes distinct), values int64/bytes.

    `m[k]`, `m[k] = v`, `k in m` and `del m[k]` with int keys (and int values) take a fast path:
    the key and value go into the map's call block and one ctypes call with one prebuilt pointer
    argument does the rest. Other keys and values go through the general, tagged calls.
    """

    key_types: ClassVar[tuple[type, ...]] = (int, str, bytes)
    value_types: ClassVar[tuple[type, ...]] = (int, bytes)

    def __init__(
        self,
        scheme: str,
        *,
        max_load: float = 0.75,
        seed: int = 0,
        capacity: int = 0,
        incremental: bool = True,
    ) -> None:
        self._h: int | None = None  # set last, so a failed __init__ leaves nothing to free
        self.scheme = scheme
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}; schemes: {', '.join(SCHEMES)}")
        if isinstance(max_load, bool) or not isinstance(max_load, (int, float)):
            raise TypeError(f"max_load must be a number, not {type(max_load).__name__!r}")
        if not 0 < max_load <= MAX_LOAD_LIMIT:
            raise ValueError(f"max_load must be in (0, {MAX_LOAD_LIMIT}], not {max_load!r}")
        for name, value in (("seed", seed), ("capacity", capacity)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an integer, not {type(value).__name__!r}")
        if not 0 <= capacity <= 2**40:
            raise ValueError(f"capacity must be between 0 and 2**40, not {capacity}")
        if not isinstance(incremental, bool):
            raise TypeError(f"incremental must be True or False, not {incremental!r}")
        lib = self._lib = library()  # kept so that __del__ works during interpreter shutdown
        self._out = ctypes.c_int64()
        self._outp = ctypes.pointer(self._out)
        self._buf = ctypes.create_string_buffer(_VALUE_BUFFER)
        handle = lib.cm_new(SCHEMES[scheme], seed % 2**64, float(max_load), capacity, incremental)
        if not handle:
            raise MemoryError(f"cannot allocate a {scheme} table of capacity {capacity}")
        self._call = _Call(handle, 0, 0)
        self._ref = ctypes.byref(self._call)
        self._get_int, self._put_int = lib.cm_call_get, lib.cm_call_put
        self._del_int = lib.cm_call_del
        self._h = handle

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError(f"operation on a closed {self.scheme} map")
        return self._h

    def _fail(self, status: int, what: str) -> NoReturn:
        """Raise the exception for a C error status."""
        if status == _ECLOSED:
            raise ValueError(f"operation on a closed {self.scheme} map")
        if status == _ETOOBIG:
            raise MemoryError(f"{what}: larger than any table (at most 2**48 slots)")
        if status == _ENOMEM:
            raise MemoryError(f"{what}: out of memory")
        raise ValueError(f"{what}: the C library rejected an argument (status {status})")

    def _key(self, key: Any) -> tuple[int, int, bytes | None]:
        cls = type(key)
        if cls is int and INT64_MIN <= key <= INT64_MAX:  # the common case, checked cheaply
            return _INT, key, None
        if cls is bytes:
            return _BYTES, len(key), key
        check_key(self, key)
        return _encode(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if (
            type(key) is int
            and type(value) is int
            and INT64_MIN <= key <= INT64_MAX
            and INT64_MIN <= value <= INT64_MAX
        ):
            call = self._call
            call.key, call.val = key, value
            status = self._put_int(self._ref)
        else:
            h = self._handle()
            ktag, knum, kdata = self._key(key)
            if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
                check_value(self, value)
            vtag, vnum, vdata = _encode(value)
            status = self._lib.cm_put(h, ktag, knum, kdata, vtag, vnum, vdata)
        if status < 0:
            self._fail(status, "inserting into the C table")

    def _lookup(self, key: Any) -> tuple[bool, Any]:
        """(found, value) through the general call: any key type, bytes values, closed maps."""
        h = self._handle()
        ktag, knum, kdata = self._key(key)
        status = self._lib.cm_get(h, ktag, knum, kdata, self._outp, self._buf, _VALUE_BUFFER)
        if status == 0:
            return False, None
        n = self._out.value
        if status == 1:
            return True, n
        if n <= _VALUE_BUFFER:
            return True, ctypes.string_at(self._buf, n)
        big = ctypes.create_string_buffer(n)
        self._lib.cm_get(h, ktag, knum, kdata, self._outp, big, n)
        return True, big.raw[: self._out.value]

    def __getitem__(self, key: Any) -> Any:
        if type(key) is int and INT64_MIN <= key <= INT64_MAX:  # the fast path (class docstring)
            call = self._call
            call.key = key
            status = self._get_int(self._ref)
            if status == 1:
                return call.val
            if status == 0:
                raise KeyError(key)
        found, value = self._lookup(key)
        if not found:
            raise KeyError(key)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        if type(key) is int and INT64_MIN <= key <= INT64_MAX:
            call = self._call
            call.key = key
            status = self._get_int(self._ref)
            if status == 1:
                return call.val
            if status == 0:
                return default
        found, value = self._lookup(key)
        return value if found else default

    def __contains__(self, key: object) -> bool:
        if type(key) is int and INT64_MIN <= key <= INT64_MAX:
            self._call.key = key
            status = self._get_int(self._ref)
            if status >= 0:
                return bool(status > 0)
            self._fail(status, "looking up a key")
        h = self._handle()
        try:
            ktag, knum, kdata = self._key(key)
        except (TypeError, OverflowError):
            return False  # a key this map cannot store is never in it
        return bool(self._lib.cm_get(h, ktag, knum, kdata, self._outp, None, 0))

    def __delitem__(self, key: Any) -> None:
        if type(key) is int and INT64_MIN <= key <= INT64_MAX:
            self._call.key = key
            status = self._del_int(self._ref)
        else:
            ktag, knum, kdata = self._key(key)
            status = self._lib.cm_del(self._handle(), ktag, knum, kdata)
        if status == 0:
            raise KeyError(key)
        if status < 0:
            self._fail(status, "deleting a key")

    def __len__(self) -> int:
        return int(self._lib.cm_len(self._handle()))

    def __iter__(self) -> Iterator[Any]:
        """The keys as they are now (a snapshot: later writes do not affect the iteration)."""
        return iter(self._keys())

    def _keys(self) -> list[Any]:
        h = self._handle()
        n, nbytes = self._lib.cm_len(h), self._lib.cm_key_bytes(h)
        tags = ctypes.create_string_buffer(max(n, 1))
        nums = (ctypes.c_int64 * max(n, 1))()
        blob = ctypes.create_string_buffer(max(nbytes, 1))
        count = self._lib.cm_export_keys(h, tags, nums, blob, n, nbytes)
        if count < 0:
            raise RuntimeError("the C table changed size while its keys were read")
        kinds = tags.raw[:count]
        if kinds.count(_INT) == count:
            return cast("list[Any]", nums[:count])
        raw, keys, offset = blob.raw, [], 0
        for tag, num in zip(kinds, nums[:count], strict=True):
            if tag == _INT:
                keys.append(num)
                continue
            data = raw[offset : offset + num]
            offset += num
            keys.append(data if tag == _BYTES else data.decode("utf-8", "surrogatepass"))
        return keys

    def clear(self) -> None:
        """Remove every entry; the table keeps its capacity (as Go's `clear` does)."""
        self._lib.cm_clear(self._handle())

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        for key, value in iter_update_items(other, **kwargs):
            self[key] = value

    def reserve(self, n: int) -> None:
        """Grow now so that `n` entries fit without a resize."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"reserve needs a non-negative integer, not {n!r}")
        if n > INT64_MAX:
            raise OverflowError(f"cannot reserve room for {n} entries: beyond 64-bit sizes")
        status = self._lib.cm_reserve(self._handle(), n)
        if status < 0:
            self._fail(status, f"cannot reserve room for {n} entries")

    def insert_many(self, keys: Any, values: Any) -> None:
        """Insert int64 keys with int64 values from two buffers of equal length."""
        h = self._handle()
        k, v = _int64_buffer(keys, "keys"), _int64_buffer(values, "values")
        if k.length != v.length:
            raise ValueError(f"{k.length} keys but {v.length} values")
        status = self._lib.cm_insert_many(h, k.first, v.first, k.length)
        if status < 0:
            self._fail(status, "inserting into the C table")

    def lookup_many(self, keys: Any) -> int:
        """How many of the int64 keys in the buffer are present."""
        h = self._handle()
        k = _int64_buffer(keys, "keys")
        return int(self._lib.cm_lookup_many(h, k.first, k.length))

    def delete_many(self, keys: Any) -> int:
        """Delete the int64 keys in the buffer; returns how many were present."""
        h = self._handle()
        k = _int64_buffer(keys, "keys")
        return int(self._lib.cm_delete_many(h, k.first, k.length))

    def probe_stats(self) -> ProbeStats:
        """Exact probe statistics counted by the C code (see docs/cmap.md for what a probe is)."""
        h = self._handle()
        out = _Stats()
        status = self._lib.cm_stats(h, ctypes.byref(out))
        if status < 0:
            self._fail(status, "computing probe statistics")
        histograms = []
        for which, length in ((0, out.hit_len), (1, out.miss_len)):
            counts = (ctypes.c_int64 * max(length, 1))()
            self._lib.cm_hist_copy(h, which, counts, length)
            histograms.append(tuple(counts[:length]))
        extra: dict[str, float] = {"homes": out.homes, "max_insert_moves": out.max_insert_moves}
        if self.scheme == "gobucket":
            extra.update(overflow_buckets=out.overflow_buckets, growing=out.growing)
        else:
            extra["max_load"] = out.max_load
        return ProbeStats(
            size=out.size,
            capacity=out.capacity,
            probe_unit=_PROBE_UNITS[out.probe_unit],
            hit_histogram=histograms[0],
            miss_histogram=histograms[1],
            tombstones=out.tombstones,
            resizes=out.resizes,
            extra=extra,
        )

    def layout(self) -> dict[str, int]:
        """The table's memory layout: bytes per slot or bucket, array lengths (docs/cmap.md)."""
        out = _Layout()
        self._lib.cm_layout(self._handle(), ctypes.byref(out))
        return {name: int(getattr(out, name)) for name in _LAYOUT_FIELDS}

    def close(self) -> None:
        """Free the C table; closing twice is harmless, any other use afterwards a ValueError."""
        handle, self._h = self._h, None
        if handle is not None:
            self._call.map = None  # the int-key calls now see a closed map
            self._lib.cm_free(handle)

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self._h is None else f"size={len(self)}"
        return f"CMap({self.scheme!r}, {state})"


def _open_addressing(scheme: str, max_load: float = 0.75, seed: int = 0, capacity: int = 0) -> CMap:
    return CMap(scheme, max_load=max_load, seed=seed, capacity=capacity)


def _swiss(max_load: float = 0.875, seed: int = 0, capacity: int = 0) -> CMap:
    return CMap("swiss", max_load=max_load, seed=seed, capacity=capacity)


def _gobucket(seed: int = 0, capacity: int = 0, incremental: bool = True) -> CMap:
    return CMap("gobucket", seed=seed, capacity=capacity, incremental=incremental)


_DESCRIPTIONS = {
    "linear": "C open addressing, linear probing, 16-byte slots + metadata bytes, tombstones",
    "quadratic": "C open addressing, triangular (quadratic) probing, 16-byte slots, tombstones",
    "double": "C open addressing, double hashing, 16-byte slots + metadata bytes, tombstones",
    "gobucket": "C Go (<= 1.23) map: 144-byte buckets of 8, tophash marks, incremental evacuation",
    "swiss": "C abseil Swiss table: control bytes apart, unaligned 16-byte groups, salted H1/H2",
}
_FACTORIES: dict[str, Callable[..., CMap]] = {
    "linear": functools.partial(_open_addressing, "linear"),
    "quadratic": functools.partial(_open_addressing, "quadratic"),
    "double": functools.partial(_open_addressing, "double"),
    "gobucket": _gobucket,
    "swiss": _swiss,
}


def _maps() -> tuple[MapInfo, ...]:
    try:
        library()
    except OSError as exc:
        return tuple(
            unavailable(f"c-{s}", f"{type(exc).__name__}: {exc}", _DESCRIPTIONS[s]) for s in SCHEMES
        )
    return tuple(MapInfo(f"c-{s}", _FACTORIES[s], _DESCRIPTIONS[s]) for s in SCHEMES)


MAPS = _maps()
