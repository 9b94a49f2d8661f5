"""The Markdown summary of a comparison: short enough for a pull-request comment."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mapbench.reports import templating, verdicts

from mapbench.compare import Comparison

# Characters that would turn untrusted text into Markdown structure (tables, links, emphasis).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|<>#!~])")


def markdown_escape(text: object) -> str:
    """Backslash-escape Markdown syntax so names and messages stay literal text."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def markdown_text(comparison: Comparison, limit: int | None = None) -> str:
    """The summary as Markdown: headline, counts, then the changes of each verdict (every one of
    them, or up to `limit`), with why a row was too noisy to judge."""
    env = templating.environment().overlay(autoescape=False)
    env.filters["md"] = markdown_escape
    template = env.get_template("summary.md.j2")
    return template.render(s=verdicts.summary(comparison, limit))


def render_markdown(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """Write the Markdown summary to `path` (no partial file on failure)."""
    return templating.write_atomically(path, lambda: markdown_text(comparison))
