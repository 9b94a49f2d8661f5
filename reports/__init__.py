"""Reports from the tidy result frame: one self-contained HTML file and a Markdown summary."""

from __future__ import annotations

from mapbench.reports.render import markdown_escape, markdown_text, render_html, render_markdown

__all__ = ["markdown_escape", "markdown_text", "render_html", "render_markdown"]
