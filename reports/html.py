"""The HTML reporter: tidy frame (+ comparison) in, one self-contained file out."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from mapbench.reports import templating, viewmodel

from mapbench.compare import Comparison
from mapbench.results import ResultSet


def render_html(
    results: ResultSet,
    path: str | os.PathLike[str],
    comparison: Comparison | None = None,
    title: str = "mapbench report",
    statistic: str = "p10",
    change_points: pd.DataFrame | None = None,
) -> Path:
    """Write the report to `path`; on any failure no partial file is left behind.

    `statistic` (min, p10, p25, median) is what the time table shows without a comparison;
    `change_points` (columns in `reports.history`) are marked in the history panels.
    """

    def produce() -> str:
        view = viewmodel.build(results, comparison, title, statistic, change_points)
        return templating.environment().get_template("report.html.j2").render(view=view)

    return templating.write_atomically(path, produce)
