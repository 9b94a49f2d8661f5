"""What one case is: a map (by label) through one workload at one size, key kind, seed and
value kind.

`CaseId` is the one identity every runner, result file and report uses; `str(case)` is its one
textual form ("<map>/<workload>/<key_kind>/<size>", pyperf's benchmark name, with
"/<value_kind>" after the size unless the values are ints) and `CaseId.parse()` its inverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mapbench.errors import MapbenchError
from mapbench.registry import parse_spec
from mapbench.schema import CaseResult
from mapbench.values import DEFAULT_VALUE_KIND
from mapbench.workloads import Case, get_workload


@dataclass(frozen=True, order=True)
class CaseId:
    """A case; `map` is the label results are filed under, `spec` what a worker loads.

    The two differ only for a file spec given with a relative path (`./m.py:M`), which workers
    in another directory load by its absolute path. `spec` is not part of the identity.
    """

    map: str
    workload: str
    key_kind: str
    size: int
    seed: int = 0
    spec: str = field(default="", compare=False)
    value_kind: str = DEFAULT_VALUE_KIND  # last, so positional construction stays as it was

    def __str__(self) -> str:
        name = f"{self.map}/{self.workload}/{self.key_kind}/{self.size}"
        return name if self.value_kind == DEFAULT_VALUE_KIND else f"{name}/{self.value_kind}"

    @classmethod
    def parse(cls, name: str, seed: int = 0) -> CaseId:
        """The case named `name` (split from the right: a map label may hold slashes)."""
        value_kind = DEFAULT_VALUE_KIND
        head, _, last = name.rpartition("/")
        if not last.isdigit() and head.rpartition("/")[2].isdigit():
            name, value_kind = head, last
        parts = name.rsplit("/", 3)
        if len(parts) != 4 or not parts[3].isdigit() or not all(parts[:3]):
            raise MapbenchError(
                f"not a case name {name!r}: expected map/workload/key_kind/size[/value_kind]"
            )
        return cls(parts[0], parts[1], parts[2], int(parts[3]), seed, value_kind=value_kind)

    @classmethod
    def of(cls, result: CaseResult) -> CaseId:
        """The case a stored result belongs to."""
        return cls(
            result.map, result.workload, result.key_kind, result.size, result.seed, result.spec,
            result.value_kind,
        )  # fmt: skip

    @property
    def loadable_spec(self) -> str:
        return self.spec or self.map

    def open(self) -> Case:
        """Build the workload's keys and first map (untimed); the caller closes the case."""
        spec = parse_spec(self.loadable_spec)
        return get_workload(self.workload).prepare(
            spec.create, self.size, self.key_kind, self.seed, self.value_kind
        )


__all__ = ["CaseId"]
