"""The one jinja2 environment of every report: autoescaped, strict, templates from the package."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from mapbench._atomic import write_atomic


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
