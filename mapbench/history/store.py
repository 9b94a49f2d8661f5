"""The results store: one DuckDB file holding every result ingested, keyed by commit and run.

Files are read only through `mapbench.results.load()` and kept as its tidy rows. Ingesting is
incremental and idempotent: a file whose bytes (SHA-256) were ingested before is skipped, so
ingesting the same files twice changes nothing; a file of a run already held (same source,
machine, commit, Python, environment and start time, e.g. a results file rewritten after more
cases finished, or an asv file of the same commit and environment) replaces that run's rows.

A file superseded that way stays known by its digest, so ingesting it again changes nothing.

Why DuckDB (docs/history.md has the measurements): columnar bulk inserts straight from the
pandas frame, 3.6x smaller files than SQLite for the same rows, and reading them back into a
frame takes half SQLite's time.

History of "version" (table `meta`, key `version`):
  1 - runs, files, environments, rows (the tidy columns plus `point`, the per-row statistic of
      change-point detection), samples (long form), commits (date, parents, subject, position).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mapbench.case import KEY_COLUMNS, METRIC_COLUMNS, size_column
from mapbench.errors import MapbenchError
from mapbench.history.points import with_points
from mapbench.input_files import InputError, read_input
from mapbench.results import COLUMNS, LoadProblem, ResultSet, load, result_files

if TYPE_CHECKING:
    import duckdb

FORMAT = "mapbench-history"
VERSION = 2  # 2: rows keep `groups` (the runs per worker process)
# DuckDB files start with a 4-byte checksum, then this magic.
_MAGIC = b"DUCK"
_TEXT = (
    "source", "file", "machine", "commit", "python", "env", "benchmark", "map", "workload",
    "key_kind", "params", "metric", "unit", "kind", "status", "error", "loop", "gc",
)  # fmt: skip
_NUMBERS = ("value", "ci_low", "ci_high", "point")
# What identifies a run, besides the start time its environment records.
_RUN_FIELDS = ("file", "source", "machine", "commit", "python", "env")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY, run_key VARCHAR UNIQUE);
CREATE TABLE IF NOT EXISTS files (digest VARCHAR PRIMARY KEY, path VARCHAR, run_id INTEGER);
CREATE TABLE IF NOT EXISTS environments (run_id INTEGER, file VARCHAR, environment VARCHAR);
CREATE TABLE IF NOT EXISTS rows (
    run_id INTEGER, row_id BIGINT, {", ".join(f'"{c}" VARCHAR' for c in _TEXT)},
    commit_date TIMESTAMPTZ, size BIGINT, n_samples BIGINT, groups VARCHAR,
    {", ".join(f'"{c}" DOUBLE' for c in _NUMBERS)}
);
CREATE TABLE IF NOT EXISTS samples (run_id INTEGER, row_id BIGINT, idx INTEGER, value DOUBLE);
CREATE TABLE IF NOT EXISTS commits (
    "commit" VARCHAR PRIMARY KEY, commit_date TIMESTAMPTZ, parents VARCHAR, subject VARCHAR,
    position BIGINT
);
"""


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # a hard dependency; a broken install says what is missing
        raise MapbenchError(f"the results store needs DuckDB: {exc}") from exc
    return duckdb


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a file in DuckDB's format (a results store, or about to be refused)."""
    p = Path(path)
    if not p.is_file():
        return False
    with p.open("rb") as f:
        return f.read(12)[8:12] == _MAGIC


@dataclass(frozen=True)
class Ingested:
    """What one ingest did: files new, already held (skipped) and runs replaced; problems."""

    new_files: int
    skipped_files: int
    replaced_runs: int
    rows: int
    problems: tuple[LoadProblem, ...] = ()


class Store:
    """An open results store (a DuckDB file, created on first use)."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only and not is_store(self.path):
            raise MapbenchError(f"{self.path} is not a mapbench results store")
        if not read_only and self.path.exists() and not is_store(self.path):
            raise MapbenchError(f"{self.path} exists and is not a mapbench results store")
        try:
            self.db: duckdb.DuckDBPyConnection = _duckdb().connect(
                str(self.path), read_only=read_only
            )
        except Exception as exc:  # duckdb.Error: locked, damaged, newer format
            raise MapbenchError(f"cannot open the results store {self.path}: {exc}") from exc
        if not read_only:
            self.db.execute(_SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('format', ?), ('version', ?)",
                [FORMAT, str(VERSION)],
            )
        self._check_version()

    def _check_version(self) -> None:
        try:
            found = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        except _duckdb().Error as exc:
            self.db.close()
            raise MapbenchError(
                f"{self.path}: cannot read it as a results store (damaged?): {_one_line(exc)}"
            ) from None
        if found.get("format") != FORMAT:
            self.db.close()
            raise MapbenchError(f"{self.path} is a DuckDB file but not a mapbench results store")
        if found.get("version") != str(VERSION):
            self.db.close()
            raise MapbenchError(
                f"{self.path} is results store version {found.get('version')}; "
                f"this mapbench reads version {VERSION}: ingest the results files into a new store"
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        """Close; a failure reading the store (DuckDB's errors, values no writer stores) is
        the store's damage, reported as one line naming it."""
        self.close()
        if exc is not None and isinstance(exc, (_duckdb().Error, ValueError, TypeError)):
            raise MapbenchError(f"{self.path}: damaged results store: {_one_line(exc)}") from None

    def ingest(self, paths: Iterable[str | os.PathLike[str]]) -> Ingested:
        """Add every results file under `paths` that the store does not hold yet."""
        known = {d for (d,) in self.db.execute("SELECT digest FROM files").fetchall()}
        fresh: dict[str, Path] = {}
        refused: list[LoadProblem] = []
        skipped = 0
        for path, within in result_files(paths):
            try:
                digest = hashlib.sha256(read_input(path, within)).hexdigest()
            except InputError as exc:
                refused.append(LoadProblem(str(path), str(exc).removeprefix(f"{path}: ")))
                continue
            if digest in known or digest in fresh:
                skipped += 1
            else:
                fresh[digest] = path
        if not fresh:
            return Ingested(0, skipped, 0, 0, tuple(refused))
        loaded = load(fresh.values())
        frame = with_points(loaded.frame)
        firsts = {
            row.file: row
            for row in frame.drop_duplicates("file")[list(_RUN_FIELDS)].itertuples(index=False)
        }
        keys = {
            digest: _run_key(firsts.get(str(path)), loaded.environments.get(str(path), {}), digest)
            for digest, path in fresh.items()
        }
        held = dict(self.db.execute("SELECT run_key, run_id FROM runs").fetchall())
        top = max(held.values(), default=0)
        ids: dict[str, int] = {}
        for key in dict.fromkeys(keys.values()):
            ids[key] = held[key] if key in held else top + 1 + len(ids)
        replaced = sorted({ids[k] for k in keys.values() if k in held})
        files = pd.DataFrame(
            {
                "digest": list(fresh),
                "path": [str(p) for p in fresh.values()],
                "run_id": np.array([ids[keys[d]] for d in fresh], dtype=np.int32),
            }
        )
        runs = pd.DataFrame({"run_key": [k for k in ids if k not in held]})
        runs.insert(0, "run_id", np.array([ids[k] for k in runs["run_key"]], dtype=np.int32))
        with_env = files[files["path"].isin(loaded.environments)]
        environments = with_env[["run_id", "path"]].assign(
            environment=[json.dumps(loaded.environments[p], default=str) for p in with_env["path"]]
        )
        run_of_file = dict(zip(files["path"], files["run_id"], strict=True))
        self.db.execute("BEGIN TRANSACTION")
        try:
            for table in ("rows", "samples", "environments"):  # known files stay known
                self.db.execute(f"DELETE FROM {table} WHERE list_contains(?, run_id)", [replaced])
            self._insert_frame("runs", runs)
            self._insert_frame("files", files)
            self._insert_frame("environments", environments)
            self._insert_rows(frame, frame["file"].map(run_of_file).to_numpy(dtype=np.int32))
            self._add_commits(frame)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        problems = (*refused, *loaded.problems)
        return Ingested(len(fresh), skipped, len(replaced), len(frame), problems)

    def _insert_rows(self, frame: pd.DataFrame, run_ids: np.ndarray) -> None:
        """The tidy rows and, in long form, their samples."""
        if frame.empty:
            return
        row_ids = np.arange(len(frame), dtype=np.int64)
        texts = {g: " ".join(map(str, g)) for g in set(frame["groups"])}  # runs per process
        new_rows = pd.DataFrame(
            {
                "run_id": run_ids,
                "row_id": row_ids,
                **{c: frame[c].astype(object).to_numpy() for c in _TEXT},
                "commit_date": frame["commit_date"].reset_index(drop=True),  # keeps its zone
                "size": frame["size"].astype("float64").to_numpy(),
                "n_samples": frame["n_samples"].to_numpy(),
                "groups": [texts[g] for g in frame["groups"]],  # (tuple keys: no .map)
                **{c: frame[c].to_numpy(dtype=np.float64) for c in _NUMBERS},
            }
        )
        self._insert_frame("rows", new_rows)
        counts = frame["n_samples"].to_numpy()
        total = int(counts.sum())
        if total:
            flat = np.fromiter((x for s in frame["samples"] for x in s), np.float64, total)
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            new_samples = pd.DataFrame(
                {
                    "run_id": np.repeat(run_ids, counts),
                    "row_id": np.repeat(row_ids, counts),
                    "idx": (np.arange(total) - starts).astype(np.int32),
                    "value": flat,
                }
            )
            self._insert_frame("samples", new_samples)

    def _insert_frame(self, table: str, frame: pd.DataFrame, tail: str = "") -> None:
        """INSERT INTO `table` every row of `frame` (columns in the table's order)."""
        self.db.register("incoming", frame)
        try:
            self.db.execute(f"INSERT INTO {table} SELECT * FROM incoming {tail}")
        finally:
            self.db.unregister("incoming")

    def _add_commits(self, frame: pd.DataFrame) -> None:
        ok = frame[frame["commit"] != ""]
        dated = ok.groupby("commit")["commit_date"].min().reset_index()
        if dated.empty:
            return
        for column in ("parents", "subject"):
            dated[column] = None
        dated["position"] = pd.array([None] * len(dated), dtype="Int64")
        dated["parents"] = dated["parents"].astype(object)
        self._insert_frame(
            "commits",
            dated,
            'ON CONFLICT ("commit") DO UPDATE SET commit_date = '
            "coalesce(commits.commit_date, excluded.commit_date)",
        )

    def commits(self) -> pd.DataFrame:
        """Every commit held: commit, commit_date, parents, subject, position."""
        frame: pd.DataFrame = self.db.execute(
            'SELECT "commit", commit_date, parents, subject, position FROM commits'
        ).df()
        return frame

    def commits_without_details(self) -> list[str]:
        """Commits whose parents and position have not been read from git yet."""
        rows = self.db.execute('SELECT "commit" FROM commits WHERE position IS NULL').fetchall()
        return [r[0] for r in rows]

    def describe_commits(self, details: pd.DataFrame) -> None:
        """Record commit, commit_date, parents, subject, position read from git."""
        self._insert_frame(
            "commits",
            details[["commit", "commit_date", "parents", "subject", "position"]],
            'ON CONFLICT ("commit") DO UPDATE SET commit_date = excluded.commit_date, '
            "parents = excluded.parents, subject = excluded.subject, "
            "position = excluded.position",
        )

    def points(self) -> pd.DataFrame:
        """The columns change-point detection needs, for every successful row."""
        columns = ", ".join(
            f'"{c}"'
            for c in (
                "source", "machine", "commit", "commit_date", "python", "benchmark",
                *KEY_COLUMNS, *METRIC_COLUMNS, "point",
            )
        )  # fmt: skip
        frame: pd.DataFrame = self.db.execute(
            f"SELECT {columns} FROM rows WHERE status = 'ok' AND point IS NOT NULL "
            "AND NOT isnan(point)"
        ).df()
        frame["size"] = size_column(frame["size"])
        return frame

    def result_set(self) -> ResultSet:
        """Everything held, as `mapbench.results.load()` would have returned it."""
        frame: pd.DataFrame = self.db.execute("SELECT * FROM rows ORDER BY run_id, row_id").df()
        samples = self.db.execute(
            "SELECT run_id, row_id, list(value ORDER BY idx) AS samples FROM samples GROUP BY ALL"
        ).df()
        frame = frame.merge(samples, on=["run_id", "row_id"], how="left", sort=False)
        frame["samples"] = [
            tuple(s.tolist()) if isinstance(s, np.ndarray) else () for s in frame["samples"]
        ]
        parsed = {g: tuple(int(n) for n in g.split()) for g in frame["groups"].unique()}
        frame["groups"] = [parsed[g] for g in frame["groups"]]
        frame["size"] = size_column(frame["size"])
        frame["commit_date"] = pd.to_datetime(frame["commit_date"], utc=True)
        environments = {
            file: json.loads(text)
            for file, text in self.db.execute(
                "SELECT file, environment FROM environments"
            ).fetchall()
        }
        return ResultSet(frame[list(COLUMNS)].reset_index(drop=True), environments)

    def count(self, table: str) -> int:
        found = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(found[0]) if found else 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:200] + "..."


def _run_key(first: Any, environment: Mapping[str, Any], digest: str) -> str:
    """What one run is: a later file of the same run replaces it, any other file adds one."""
    if first is None:
        return f"file {digest}"
    started = environment.get("timestamp") or ("" if first.source == "asv" else digest)
    fields = (first.source, first.machine, first.commit, first.python, first.env, started)
    return "|".join(str(f) for f in fields)


def load_store(path: str | os.PathLike[str]) -> ResultSet:
    """The results held in the store at `path` (the hook `mapbench report STORE` uses)."""
    with Store(path, read_only=True) as store:
        return store.result_set()


__all__ = ["FORMAT", "VERSION", "Ingested", "Store", "is_store", "load_store"]
