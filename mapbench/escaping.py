"""One escaping function per sink: text from result files (map names, units, errors, commit
messages: a pull request's, possibly hostile) becomes inert text in Markdown and on a terminal.

- `markdown_inline`: for Markdown (GitHub's flavour) inside a line or a table cell. Newlines and
  other whitespace become one space (no new block: no fake heading, list, rule or table row);
  control and bidirectional-override characters are shown as `\\xNN`/`\\uNNNN`; `&`, `<`, `>` and
  `@` become entities (no HTML, no mention, no entity smuggling); every ASCII punctuation
  character with a Markdown meaning is backslash-escaped (emphasis, code spans, links, images,
  table cells), and `://` and `www.` are broken so nothing becomes an autolink.
- `terminal_text` (and `TerminalStream`, which the CLI puts around stdout and stderr): control
  and bidirectional-override characters are shown escaped (no ESC sequences), and a line that
  would start with `::` (a GitHub Actions workflow command such as `::error::` or
  `::add-mask::`) gets a zero-width space between the colons.

The HTML report needs neither: jinja2 autoescapes every value (reports/render.py).
"""

from __future__ import annotations

import io
import re
from typing import Any, TextIO

__all__ = ["TerminalStream", "markdown_inline", "terminal_text"]

# C0 and C1 controls, DEL, and the characters that reorder or hide text (bidi overrides and
# isolates, zero-width marks): what a hostile name uses to rewrite what a reader sees.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]"
)
_WHITESPACE = re.compile(r"[\t\n\r\f\v\x1c-\x1f\x85\u2028\u2029 ]+")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"}
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|#!~])")
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)
_WORKFLOW_COMMAND = re.compile(r"^([ \t]*):(?=:)", re.MULTILINE)
_ZERO_WIDTH_SPACE = "\u200b"


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def markdown_inline(text: object) -> str:
    """`text` as literal Markdown text inside one line or table cell."""
    s = _WHITESPACE.sub(" ", str(text))
    s = _INVISIBLE.sub(_shown, s)
    s = _MARKDOWN_PUNCTUATION.sub(r"\\\1", s)  # (the backslashes of the escapes above too)
    s = "".join(_ENTITIES.get(c, c) for c in s)
    return _WWW.sub(r"\1\\.", s.replace("://", ":\\/\\/"))


def terminal_text(text: object) -> str:
    """`text` safe to print to a terminal or a CI log (newlines and tabs kept)."""
    s = _INVISIBLE.sub(_shown, str(text))
    return _WORKFLOW_COMMAND.sub(lambda m: m.group(1) + ":" + _ZERO_WIDTH_SPACE, s)


class TerminalStream(io.TextIOBase):
    """A text stream that passes everything written through `terminal_text`.

    On a terminal, the one control sequence mapbench writes itself (carriage return, erase
    line: the progress line redrawn in place) is kept; in a log (not a terminal) it is escaped
    like any other. A `::` at the start of a write that continues a line is broken too
    (harmless: a zero-width space).
    """

    _CLEAR = "\r\x1b[K"

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw
        self._live = raw.isatty()

    def write(self, s: str) -> int:
        parts = s.split(self._CLEAR) if self._live else [s]
        self.raw.write(self._CLEAR.join(terminal_text(part) for part in parts))
        return len(s)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self._live

    def fileno(self) -> int:
        return self.raw.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)  # encoding, buffer, ...
