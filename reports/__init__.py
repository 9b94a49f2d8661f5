"""Reports from the tidy result frame: one self-contained HTML file and a Markdown summary."""

from __future__ import annotations

from mapbench.reports.html import render_html
from mapbench.reports.markdown import render_markdown

__all__ = ["render_html", "render_markdown"]
