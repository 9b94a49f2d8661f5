"""Where a history comes from: results stores and plain results directories, mixed freely."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mapbench.errors import MapbenchError
from mapbench.git import describe
from mapbench.history.points import with_points
from mapbench.history.store import Ingested, Store, is_store
from mapbench.results import LoadProblem, load


@dataclass(frozen=True)
class Points:
    """One `point` per successful result row, the commits known, and the loading problems."""

    frame: pd.DataFrame
    commits: pd.DataFrame | None
    problems: tuple[LoadProblem, ...] = ()


def ingest(
    store_path: str | os.PathLike[str], sources: Sequence[str], repo: Path | None
) -> Ingested:
    """Ingest `sources` into the store (created if missing); with `repo`, describe new commits."""
    with Store(store_path) as store:
        done = store.ingest(sources) if sources else Ingested(0, 0, 0, 0)
        if repo is not None:
            missing = store.commits_without_details()
            if missing:
                store.describe_commits(describe(repo, missing))
    return done


def open_points(sources: Sequence[str], repo: Path | None = None) -> Points:
    """The points of every store and results directory or file in `sources`."""
    stores = [s for s in sources if is_store(s)]
    plain = [s for s in sources if not is_store(s)]
    frames: list[pd.DataFrame] = []
    commits: list[pd.DataFrame] = []
    problems: tuple[LoadProblem, ...] = ()
    for path in stores:
        with Store(path, read_only=True) as store:
            frames.append(store.points())
            commits.append(store.commits())
    if plain:
        loaded = load(plain)
        if loaded.frame.empty:  # e.g. a file that is neither a store nor results
            why = "; ".join(map(str, loaded.problems[:3])) or "no result files"
            raise MapbenchError(f"no results in {', '.join(plain)}: {why}")
        ok = loaded.frame[loaded.frame["status"] == "ok"]
        frames.append(with_points(ok))
        problems = loaded.problems
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if repo is not None and not frame.empty:
        commits.append(describe(repo, sorted(set(frame["commit"]) - {""})))
    known = [c for c in commits if not c.empty]
    table = pd.concat(known).drop_duplicates("commit", keep="last") if known else None
    return Points(frame, table, problems)


__all__ = ["Points", "ingest", "open_points"]
