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
  4 - the timing loop records, per run, the run-queue delay (`run_queue`, seconds per operation
      the thread waited for a core; Linux) and voluntary context switches (`voluntary_switches`)
      next to wall and CPU time, so a comparison tells waiting for a core (contention: CPU time
      judged) from sleeping (wall time judged). New measurements only, no new fields: versions
      1-3 still load, and their cases fall back to judging by the CPU share of wall time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

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
    """Everything measured for one case (map x workload x key kind x size x seed) in one run."""

    map: str
    workload: str
    size: int
    key_kind: str
    seed: int = 0
    spec: str = ""
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    status: Status = "ok"
    error: str = ""
    traceback: str = ""
    unavailable: dict[str, str] = msgspec.field(default_factory=dict)
    metrics: tuple[Measurement, ...] = ()


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
        return CaseResult(
            self.map, self.workload, self.size, self.key_kind, seed, spec, params,
            self.status, self.error or "", metrics=self.metrics,
        )  # fmt: skip


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
]
