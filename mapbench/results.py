"""Load asv, pyperf and mapbench result files into one tidy pandas frame.

One row is one metric of one benchmark case in one run. The columns (`COLUMNS`) are documented
in docs/report.md. Damaged, partial, hostile or unknown-version files never stop a load: each
becomes a `LoadProblem` naming the file and why, and everything readable still loads. Files are
read through `input_files` (regular files only, no links out of the directory, bounded size),
and a row with a number out of range is dropped as a problem of its own.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mapbench import _asv_results, _pyperf_results, schema
from mapbench._result_rows import COLUMNS, Outcome, Row, case_columns, kind_of_metric, timestamp
from mapbench.case import size_column
from mapbench.errors import MapbenchError
from mapbench.input_files import InputError, check_values, parse_json, read_input

__all__ = [
    "COLUMNS",
    "SELECTABLE",
    "LoadProblem",
    "ResultSet",
    "Row",
    "combine",
    "frame_of",
    "kind_of_metric",
    "load",
    "looks_like_selector",
    "parse_selector",
    "problems_as_text",
    "result_files",
    "where",
]


@dataclass(frozen=True)
class LoadProblem:
    """A file (or part of one) that could not be loaded, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class ResultSet:
    """The tidy frame, the environment recorded by each run (keyed by `file`), and the problems."""

    frame: pd.DataFrame
    environments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    problems: tuple[LoadProblem, ...] = ()

    def select(self, mask: pd.Series[bool]) -> ResultSet:
        """The rows where `mask` holds, with the environments of the files they came from."""
        frame = self.frame[mask].reset_index(drop=True)
        files = set(frame["file"].unique())
        envs = {f: e for f, e in self.environments.items() if f in files}
        return ResultSet(frame, envs, self.problems)


def combine(sets: Iterable[ResultSet]) -> ResultSet:
    """One result set holding the rows, environments and problems of all of `sets`."""
    sets = list(sets)
    frames = [s.frame for s in sets if not s.frame.empty]
    frame = pd.concat(frames, ignore_index=True) if frames else frame_of([])
    environments = {k: v for s in sets for k, v in s.environments.items()}
    problems = tuple(dict.fromkeys(p for s in sets for p in s.problems))
    return ResultSet(frame, environments, problems)


def problems_as_text(problems: Iterable[LoadProblem]) -> list[str]:
    """One warning line per problem, for people."""
    return [f"warning: {p}" for p in problems]


def load(paths: Iterable[str | os.PathLike[str]]) -> ResultSet:
    """Load every result file under `paths` (directories are searched recursively)."""
    loader = _Loader()
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise MapbenchError(f"no such results file or directory: {p}")
        loader.load_path(p)
    return loader.result()


def result_files(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, Path | None]]:
    """Every file `load(paths)` reads, in its order, with the directory it was found in (None
    for a file given itself): for callers that keep track of files, to `read_input` them."""
    found: list[tuple[Path, Path | None]] = []
    for path in paths:
        p = Path(path)
        if not p.exists():
            raise MapbenchError(f"no such results file or directory: {p}")
        found += [(p, None)] if not p.is_dir() else [(f, p) for f in _json_files(p)]
    return found


# How every mapbench writer (msgspec, compact, `format` first) starts a results file.
_METRICS_PREFIX = b'{"format":"' + schema.FORMAT.encode() + b'"'


class _Loader:
    """Accumulates rows, environments and problems over many files."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.environments: dict[str, dict[str, Any]] = {}
        self.problems: list[LoadProblem] = []
        self.asv_cache: dict[str, dict[str, Any] | str] = {}

    def problem(self, path: Path | str, reason: str) -> None:
        found = LoadProblem(str(path), reason)
        if found not in self.problems:  # a shared file's problem is reported once
            self.problems.append(found)

    def load_path(self, path: Path) -> None:
        if not path.is_dir():
            self.load_file(path, None)
            return
        for file in _json_files(path):
            self.load_file(file, path)

    def load_file(self, path: Path, within: Path | None) -> None:
        """Load one file; `within`: the directory it was found in (links must stay inside)."""
        if path.name in _asv_results.AUXILIARY_FILES:
            return
        try:
            raw = read_input(path, within)
            check_values(path, raw)
            if raw.startswith(_METRICS_PREFIX) and self._load_metrics(path, raw, report=False):
                return  # mapbench's own file, as its writers write it: parsed once, not twice
            data = parse_json(path, raw)
        except InputError as exc:
            self.problem(path, str(exc).removeprefix(f"{path}: "))
            return
        if schema.is_metrics_file(data):
            self._load_metrics(path, raw)
            return
        try:
            self._dispatch(path, raw, data)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            self.problem(path, f"wrong schema: {detail}")

    def _dispatch(self, path: Path, raw: bytes, data: dict[str, Any]) -> None:
        if "result_columns" in data or "commit_hash" in data:
            outcome = _asv_results.load_file(path, data, self.asv_cache)
            self._take(path, outcome)
        elif "benchmarks" in data and "metadata" in data:
            outcome = _pyperf_results.load_file(path, raw, _sibling_environment(path))
            self._take(path, outcome)
        else:
            self.problem(path, "not a recognised results file (asv, pyperf or mapbench metrics)")

    def _take(self, path: Path, outcome: Outcome) -> None:
        rows, environment, problems = outcome
        self._add_rows(str(path), rows)
        if environment is not None:
            self.environments[str(path)] = environment
        for where, reason in problems:
            self.problem(where, reason)

    def _load_metrics(self, path: Path, raw: bytes, *, report: bool = True) -> bool:
        """Take a mapbench results file; False if it does not decode (a problem if `report`)."""
        try:
            decoded = schema.decode(raw)
        except schema.SchemaError as exc:
            if report:
                self.problem(path, str(exc))
            return False
        self.environments[str(path)] = dict(decoded.environment)
        context = _context_from_environment(decoded.environment)
        for result in decoded.results:
            self._add_rows(str(path), _metric_rows(str(path), context, result))
        for problem in decoded.problems:
            self.problem(path, problem)
        if not decoded.complete:
            self.problem(path, "the run that wrote it did not complete (interrupted?)")
        return True

    def _add_rows(self, path: str, rows: Iterable[Row]) -> None:
        """Take the rows whose numbers are in range; one problem per row that is not."""
        for row in rows:
            bad = _out_of_range(row)
            if bad:
                self.problem(path, f"rows of {row.benchmark!r} skipped: {bad} out of range")
            else:
                self.rows.append(row)

    def result(self) -> ResultSet:
        frame = frame_of(self.rows)
        return ResultSet(frame, self.environments, tuple(self.problems))


def _json_files(directory: Path) -> Iterator[Path]:
    """Every *.json file below `directory`, in a stable order (asv's html output excluded)."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".json"):
                yield Path(root) / name


_SIZE_RANGE = range(0, 2**63)


def _out_of_range(row: Row) -> str:
    """Which number of `row` no measurement can have ("" if none): sizes beyond int64, values
    and samples beyond a float (infinite) or ints too large to be one."""
    if row.size is not None and (not isinstance(row.size, int) or row.size not in _SIZE_RANGE):
        return f"size {_short(row.size)}"
    for name, numbers in (("value", (row.value,)), ("samples", row.samples)):
        for x in numbers:
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                return f"{name} {_short(x)}"
            if (isinstance(x, int) and abs(x) > sys.float_info.max) or math.isinf(x):
                return f"{name} {_short(x)}"
    return ""


def _short(x: object) -> str:
    text = repr(x) if not isinstance(x, int) or x.bit_length() < 200 else f"of {len(str(x))} digits"
    return text[:40]


def _sibling_environment(pyperf_path: Path) -> dict[str, Any] | None:
    """The environment of the results file a `mapbench run` of format versions 1-3 wrote next
    to its pyperf file (`schema.legacy_sibling`)."""
    sibling = schema.legacy_sibling(pyperf_path)
    if sibling == pyperf_path or not sibling.is_file():
        return None
    try:
        env = parse_json(sibling, read_input(sibling, sibling.parent))["environment"]
    except (InputError, KeyError):
        return None  # the metrics file reports its own problem when it is loaded
    return env if isinstance(env, dict) else None


def _context_from_environment(env: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "machine": str(env.get("machine") or ""),
        "commit": str(env.get("commit") or ""),
        "commit_date": timestamp(env.get("commit_date")),
        "python": str(env.get("python") or ""),
        "env": str(env.get("executable") or ""),
    }


def _metric_rows(path: str, context: dict[str, Any], result: schema.CaseResult) -> list[Row]:
    """Rows of one case of a results file: one per metric, one per collector that could not
    measure the map ("unavailable"), and a single row with the error for a failed case."""
    case = {
        **context,
        "source": "mapbench",
        "file": path,
        "benchmark": result.workload,
        **case_columns(result.case, result.params),
    }
    error = result.error + (f"\n{result.traceback}" if result.traceback else "")
    rows = [
        Row(
            **case,
            metric=m.name,
            unit=m.unit,
            kind=m.kind,
            value=m.value,
            samples=m.samples,
            status=result.status,
            error=error,
            loop=m.loop,
            gc=m.gc,
            groups=m.groups,
        )
        for m in result.metrics
    ]
    rows += [
        Row(
            **case,
            metric=collector,
            unit="",
            kind="",
            value=math.nan,
            samples=(),
            status="unavailable",
            error=reason,
        )
        for collector, reason in result.unavailable.items()
    ]
    if result.status != "ok" and not result.metrics:
        rows.append(
            Row(
                **case,
                metric="",
                unit="",
                kind="",
                value=math.nan,
                samples=(),
                status=result.status,
                error=error,
            )
        )
    return rows


def frame_of(rows: list[Row]) -> pd.DataFrame:
    """The tidy frame of `rows`, with its documented dtypes (an empty frame still has every
    column): what `load` returns, for callers that make rows of their own."""
    frame: pd.DataFrame = pd.DataFrame.from_records(rows, columns=list(Row._fields))
    frame["size"] = size_column(frame["size"])
    frame["value"] = frame["value"].astype("float64")
    frame["ci_low"] = frame["ci_low"].astype("float64")
    frame["ci_high"] = frame["ci_high"].astype("float64")
    frame["n_samples"] = frame["samples"].map(len).astype("int64")
    frame["commit_date"] = pd.to_datetime(frame["commit_date"], utc=True)
    return frame


# Columns a selector may name; `python` matches by version prefix ("3.12" selects "3.12.1"),
# `commit` by hash prefix, `size` as a number, everything else exactly.
SELECTABLE = (
    "source",
    "machine",
    "commit",
    "python",
    "env",
    "benchmark",
    "map",
    "workload",
    "size",
    "key_kind",
    "params",
    "metric",
    "kind",
    "file",
)


def parse_selector(text: str) -> dict[str, str]:
    """`python=3.12,map=dict` -> {"python": "3.12", "map": "dict"}."""
    criteria: dict[str, str] = {}
    for part in text.split(","):
        column, sep, value = part.partition("=")
        column = column.strip()
        if not sep or column not in SELECTABLE:
            known = ", ".join(SELECTABLE)
            raise MapbenchError(
                f"bad selector {text!r}: expected column=value with a column in {known}"
            )
        criteria[column] = value.strip()
    return criteria


def looks_like_selector(text: str) -> bool:
    """True for `column=value[,...]` with a known column (a path is tried first by callers)."""
    return text.partition("=")[0].strip() in SELECTABLE and "=" in text


def where(results: ResultSet, criteria: Mapping[str, str]) -> ResultSet:
    """The rows matching every criterion (see SELECTABLE for how each column matches)."""
    frame = results.frame
    mask = pd.Series(True, index=frame.index)
    for column, value in criteria.items():
        values = frame[column]
        if column == "python":
            mask &= (values == value) | values.str.startswith(value + ".")
        elif column == "commit":
            mask &= values.str.lower().str.startswith(value.lower()) & (value != "")
        elif column == "size":
            try:
                mask &= values == int(value)
            except ValueError:
                raise MapbenchError(f"size must be an integer, not {value!r}") from None
        else:
            mask &= values == value
    return results.select(mask.fillna(False).astype(bool))
