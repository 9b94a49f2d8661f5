"""The two reporters: one self-contained HTML file, and the Markdown summary of a comparison.

Both render through one jinja2 environment (autoescaped, strict, templates from the package)
and write their file atomically: a failure leaves no half-written file behind.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from mapbench.reports import charts, verdicts, viewmodel

from mapbench.atomic_files import write_atomic
from mapbench.compare import Comparison
from mapbench.escaping import markdown_inline
from mapbench.results import ResultSet


@functools.cache
def environment() -> Environment:
    """Autoescape on: map names, commit messages and paths are untrusted text."""
    return Environment(
        loader=PackageLoader("mapbench.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def write_atomically(path: str | os.PathLike[str], produce: Callable[[], str]) -> Path:
    """Write `produce()` to `path` through a temporary file: a failure leaves no half file."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(produce(), encoding="utf-8"))


def render_svg(chart: charts.Chart, path: str | os.PathLike[str]) -> Path:
    """One chart as a standalone SVG file (title, legend and styles inside), e.g. for a README."""
    template = environment().get_template("chart.svg.j2")
    return write_atomically(path, lambda: template.render(c=chart))


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
        return environment().get_template("report.html.j2").render(view=view)

    return write_atomically(path, produce)


def markdown_text(comparison: Comparison, limit: int | None = None) -> str:
    """The summary as Markdown: headline, counts, then the changes of each verdict (every one of
    them, or up to `limit`), with why a row was too noisy to judge."""
    env = environment().overlay(autoescape=False)
    env.filters["md"] = markdown_inline  # every value: names, units, errors are untrusted
    template = env.get_template("summary.md.j2")
    return template.render(s=verdicts.summary(comparison, limit))


def render_markdown(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """Write the Markdown summary to `path` (no partial file on failure)."""
    return write_atomically(path, lambda: markdown_text(comparison))
