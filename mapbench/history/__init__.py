"""History across commits: a results store, change points, and bisection of the culprit commit.

`mapbench history` and `mapbench bisect` are the commands; docs/history.md says how and why.
"""

from __future__ import annotations

from mapbench.history.changepoints import COLUMNS, change_points
from mapbench.history.points import with_points
from mapbench.history.sources import Points, ingest, open_points
from mapbench.history.store import Ingested, Store, is_store, load_store

__all__ = [
    "COLUMNS",
    "Ingested",
    "Points",
    "Store",
    "change_points",
    "ingest",
    "is_store",
    "load_store",
    "open_points",
    "with_points",
]
