"""The one result format mapbench writes and reads: typed, versioned, validated on read.

Every writer (`mapbench run`, `mapbench measure --json`, `mapbench ci`, the measuring worker) and
the reader (`mapbench.results`) go through `encode()` / `decode()` here. Validation is msgspec's:
strict types, precise error paths (`$.results[3].metrics[0].value`), and fast enough to read
large histories. A damaged case is skipped with a warning naming the file and the field; the
other cases of the file still load.

History of "version" (format "mapbench-metrics"):
  1 - environment + results[{map, workload, size, key_kind, params, status, error, metrics}];
      params held the key seed and the map spec.
  2 - a case's seed and spec are fields of their own (params keeps workload options only); every
      measurement says the GC policy it ran under and the loop that produced it; a collector
      that could not measure a case is listed under `unavailable` with its reason; a failure
      keeps the tail of its traceback; the file says whether its run completed. Version 1 files
      still load.
  3 - a measurement says which worker process took each sample (`groups`: how many consecutive
      samples each process took), so statistics can use the process as the independent unit.
      Versions 1 and 2 still load (their samples count as one process each).
  4 - one run, one file: `mapbench run` keeps pyperf's timings in each case's measurements
      (`loop` "pyperf": time, cpu_time, context_switches and load_average per worker process,
      as `mapbench ci` and `mapbench measure` record theirs), where earlier versions wrote them
      to a pyperf file beside the results file (`legacy_sibling`). Versions 1-3 still load, and
      so do their pyperf files (with the environment of the results file beside them).
      Also since 4: a case's value kind (`value_kind`: int, str, tuple, record, json); files
      before it hold int values and read as "int".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec

from mapbench.case import CASE_FIELDS, CaseId

FORMAT = "mapbench-metrics"
VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)

# "noisy" numbers (times, pauses) need statistics to compare; "deterministic" ones (counts,
# probe lengths with a fixed seed) are proven to repeat exactly and are compared exactly;
# "modelled" ones are computed from a model, not measured, and every output says so.
Kind = Literal["noisy", "deterministic", "modelled"]
# Whether the garbage collector could run during the measured code: "" where it cannot matter.
GcPolicy = Literal["on", "off", ""]
Status = Literal["ok", "failed", "timeout", "skipped"]


class Measurement(msgspec.Struct, frozen=True, omit_defaults=True):
    """A named value with its unit, e.g. `Measurement("gc_pause_max", 0.0012, "s")`.

    `loop` names the code that ran the measured work ("mapbench", "pyperf" or "asv"); `gc` the
    GC policy during it. `groups`: the samples came from `len(groups)` worker processes, the
    i-th taking `groups[i]` consecutive samples; empty means each sample is a process of its own.
    """

    name: str
    value: float
    unit: str
    kind: Kind = "noisy"
    samples: tuple[float, ...] = ()
    note: str = ""
    gc: GcPolicy = ""
    loop: str = ""
    groups: tuple[int, ...] = ()


class CaseResult(msgspec.Struct, frozen=True):
    """Everything measured for one case (map x workload x key kind x size x seed x value kind)
    in one run.

    Built only by `CaseResult.of(case, ...)`; its identity fields are `CaseId`'s (same names and
    defaults, checked by tests/test_results.py), `spec` the one the case was loaded by.
    """

    map: str
    workload: str
    key_kind: str
    size: int
    seed: int = 0
    spec: str = ""
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    status: Status = "ok"
    error: str = ""
    traceback: str = ""
    unavailable: dict[str, str] = msgspec.field(default_factory=dict)
    metrics: tuple[Measurement, ...] = ()
    value_kind: str = "int"

    @classmethod
    def of(
        cls,
        case: CaseId,
        *,
        params: Mapping[str, Any] | None = None,
        status: Status = "ok",
        error: str = "",
        traceback: str = "",
        unavailable: Mapping[str, str] | None = None,
        metrics: Sequence[Measurement] = (),
    ) -> CaseResult:
        """The result of `case`: the one way a `CaseResult` is built."""
        return cls(
            **{**case.fields(), "spec": case.loadable_spec},
            params=dict(params or {}),
            status=status,
            error=error,
            traceback=traceback,
            unavailable=dict(unavailable or {}),
            metrics=tuple(metrics),
        )

    @property
    def case(self) -> CaseId:
        """The case this is the result of."""
        return CaseId(**{name: getattr(self, name) for name in CASE_FIELDS})


class MetricsFile(msgspec.Struct, frozen=True):
    """One run's results on one interpreter, with the environment they were measured in."""

    format: str = FORMAT
    version: int = VERSION
    environment: dict[str, Any] = msgspec.field(default_factory=dict)
    complete: bool = True
    results: tuple[CaseResult, ...] = ()


class _Envelope(msgspec.Struct):
    """The file's outer shape, with each case left raw so one bad case spoils only itself."""

    format: str
    version: int
    environment: dict[str, Any]
    results: list[msgspec.Raw]
    complete: bool = True


class _ResultV1(msgspec.Struct):
    map: str
    workload: str
    size: int
    key_kind: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    status: Status = "ok"
    error: str | None = None
    metrics: tuple[Measurement, ...] = ()

    def upgraded(self) -> CaseResult:
        params = dict(self.params)
        seed = params.pop("seed", 0)
        spec = params.pop("spec", "")
        params.pop("ops", None)  # a property of the workload, not a parameter
        if not isinstance(seed, int) or not isinstance(spec, str):
            raise msgspec.ValidationError("params: seed must be an int and spec a str")
        case = CaseId(self.map, self.workload, self.key_kind, self.size, seed, spec)
        return CaseResult.of(
            case, params=params, status=self.status, error=self.error or "", metrics=self.metrics
        )


class SchemaError(ValueError):
    """A file that is not a mapbench results file of a readable version."""


@dataclass(frozen=True)
class Decoded:
    """A file's environment and readable cases, and one message per case that was skipped."""

    environment: Mapping[str, Any]
    results: tuple[CaseResult, ...]
    complete: bool
    version: int
    problems: tuple[str, ...]


_ENCODER = msgspec.json.Encoder()
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_READERS: dict[int, Callable[[bytes], CaseResult]] = {
    1: lambda raw: msgspec.json.decode(raw, type=_ResultV1).upgraded(),
    2: msgspec.json.Decoder(CaseResult).decode,
    3: msgspec.json.Decoder(CaseResult).decode,
    4: msgspec.json.Decoder(CaseResult).decode,
}


def legacy_sibling(path: Path) -> Path:
    """The other file of a `mapbench run` of format versions 1-3: `metrics-<stem>.json` (the
    results) <-> `pyperf-<stem>.json` (pyperf's timings)."""
    for this, other in (("metrics-", "pyperf-"), ("pyperf-", "metrics-")):
        if path.name.startswith(this):
            return path.with_name(other + path.name.removeprefix(this))
    return path


def is_metrics_file(data: Mapping[str, Any]) -> bool:
    """Whether parsed JSON claims to be a mapbench results file (of any version)."""
    return data.get("format") == FORMAT


def encode(document: MetricsFile) -> bytes:
    """The file's bytes (compact JSON)."""
    return _ENCODER.encode(document)


def encode_results(results: Sequence[CaseResult]) -> bytes:
    """Just cases, as a JSON array (the worker's answer to its parent)."""
    return _ENCODER.encode(results)


def decode_results(data: bytes) -> list[CaseResult]:
    """The inverse of `encode_results`; raises `SchemaError` naming the bad field."""
    try:
        return msgspec.json.decode(data, type=list[CaseResult])
    except msgspec.DecodeError as exc:
        raise SchemaError(str(exc)) from None


def decode(data: bytes) -> Decoded:
    """Validate a results file; bad cases are skipped and described, a bad envelope raises."""
    try:
        envelope = _ENVELOPE.decode(data)
    except msgspec.DecodeError as exc:
        raise SchemaError(f"not a readable mapbench results file: {exc}") from None
    if envelope.format != FORMAT:
        raise SchemaError(f"format is {envelope.format!r}, not {FORMAT!r}")
    read = _READERS.get(envelope.version)
    if read is None:
        known = ", ".join(map(str, READABLE_VERSIONS))
        raise SchemaError(f"format version {envelope.version} is not supported (reads {known})")
    results: list[CaseResult] = []
    problems: list[str] = []
    for i, raw in enumerate(envelope.results):
        try:
            results.append(read(raw))
        except msgspec.DecodeError as exc:
            text = str(exc)
            where = f"`$.results[{i}]"
            text = text.replace("`$", where) if "- at `$" in text else f"{text} - at {where}`"
            problems.append(f"result #{i} skipped: {text}")
    return Decoded(
        envelope.environment, tuple(results), envelope.complete, envelope.version, tuple(problems)
    )


__all__ = [
    "FORMAT",
    "READABLE_VERSIONS",
    "VERSION",
    "CaseResult",
    "Decoded",
    "GcPolicy",
    "Kind",
    "Measurement",
    "MetricsFile",
    "SchemaError",
    "Status",
    "decode",
    "decode_results",
    "encode",
    "encode_results",
    "is_metrics_file",
    "legacy_sibling",
]
