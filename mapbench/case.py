"""What one case is, and how every table, comparison and report keys it.

A case is a map (by label) through one workload at one size, key kind and seed: `CaseId`, the
one identity from the worker that measures it to the report that shows it. `str(case)` is its
one textual form ("<map>/<workload>/<key_kind>/<size>", pyperf's benchmark name) and
`CaseId.parse()` its inverse. In the tidy frame (`mapbench.results`) a case is the
`KEY_COLUMNS` of a row, `key(row)` its hashable key, and a missing size (a benchmark of another
tool that has none) is `NO_SIZE` everywhere.

Adding an identity field: declare it here with a default (results written before it read as
that default); `mapbench.schema.CaseResult` declares it too (a test checks the two agree), and
the tidy frame shows it among a case's params when it is not the default (`params_of`).

Nothing here imports the measuring machinery (workloads, registry, collectors) or pandas: the
measuring worker and `mapbench.results` both import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mapbench.errors import MapbenchError
from mapbench.values import DEFAULT_VALUE_KIND

if TYPE_CHECKING:
    import pandas as pd

# What identifies a case in the tidy frame (the identity fields not listed are in `params`).
KEY_COLUMNS = ("map", "workload", "size", "key_kind", "params")
# What names the metric measured of a case, in a row.
METRIC_COLUMNS = ("metric", "unit", "kind")
# A missing size, as every key holds it: an int like every size (all >= 1), so keys hash,
# group and sort (first) without NaN's and None's special cases.
NO_SIZE = -1


@dataclass(frozen=True, order=True)
class CaseId:
    """A case; `map` is the label results are filed under, `spec` what a worker loads.

    The two differ only for a file spec given with a relative path (`./m.py:M`), which workers
    in another directory load by its absolute path. `spec` is not part of the identity.

    A frozen dataclass rather than a msgspec Struct: `spec` can stay out of equality, hashing
    and order (`compare=False`, which Structs lack), and msgspec encodes and decodes dataclasses
    as they are, so the same type travels in a worker's job file.
    """

    map: str
    workload: str
    key_kind: str
    size: int
    seed: int = 0
    spec: str = field(default="", compare=False)
    value_kind: str = DEFAULT_VALUE_KIND  # what is stored with each key (`mapbench.values`)

    def __str__(self) -> str:
        name = f"{self.map}/{self.workload}/{self.key_kind}/{self.size}"
        return name if self.value_kind == DEFAULT_VALUE_KIND else f"{name}/{self.value_kind}"

    @classmethod
    def parse(cls, name: str, seed: int = 0, spec: str = "") -> CaseId:
        """The case named `name` (split from the right: a map label may hold slashes); a value
        kind other than int follows the size."""
        value_kind = DEFAULT_VALUE_KIND
        head, _, last = name.rpartition("/")
        if not last.isdigit() and head.rpartition("/")[2].isdigit():
            name, value_kind = head, last
        parts = name.rsplit("/", 3)
        if len(parts) != 4 or not parts[3].isdigit() or not all(parts[:3]):
            raise MapbenchError(
                f"not a case name {name!r}: expected map/workload/key_kind/size[/value_kind]"
            )
        return cls(parts[0], parts[1], parts[2], int(parts[3]), seed, spec, value_kind)

    @property
    def loadable_spec(self) -> str:
        return self.spec or self.map

    def fields(self) -> dict[str, Any]:
        """The identity fields and the spec by name, as a `CaseResult` stores them."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# Every field of a case, in order; those beyond the frame's own columns go into `params`.
CASE_FIELDS = tuple(f.name for f in dataclasses.fields(CaseId))
_IN_PARAMS = tuple(f for f in dataclasses.fields(CaseId) if f.compare and f.name not in KEY_COLUMNS)


def params_of(case: CaseId) -> dict[str, Any]:
    """The identity fields the frame keeps in `params`, where they differ from their default
    (the seed: `seed=7`; a case with default seed has none)."""
    values = {f.name: getattr(case, f.name) for f in _IN_PARAMS}
    return {f.name: values[f.name] for f in _IN_PARAMS if values[f.name] != f.default}


def size_key(size: Any) -> int:
    """A size as an int, `NO_SIZE` when missing (None, NaN or pandas' NA)."""
    try:
        return int(size)
    except (TypeError, ValueError):
        return NO_SIZE


def key(row: Mapping[Any, Any], columns: Sequence[str] = KEY_COLUMNS) -> tuple[Any, ...]:
    """A row's case as a hashable key: its `columns` in order, the size by `size_key`, every
    other value as text."""
    return tuple(size_key(row.get(c)) if c == "size" else str(row.get(c, "")) for c in columns)


def size_column(sizes: pd.Series[Any]) -> pd.Series[Any]:
    """The frame's `size` column: nullable integers (a missing size is NA in the frame)."""
    return sizes.astype("Int64")


__all__ = [
    "CASE_FIELDS",
    "KEY_COLUMNS",
    "METRIC_COLUMNS",
    "NO_SIZE",
    "CaseId",
    "key",
    "params_of",
    "size_column",
    "size_key",
]
