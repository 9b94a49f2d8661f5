"""Untrusted text in every field of a results file (issue 28): the Markdown summary keeps its
table structure and holds no live markup, the HTML report no live markup, the terminal no
control sequence or workflow command."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from mapbench.cli import main
from mapbench.escaping import TerminalStream, markdown_inline, terminal_text

RUNS = Path(__file__).parent / "fixtures" / "runs"
PAYLOADS = [
    '<img src="https://evil.example/p.gif">',
    "<script>alert(1)</script>",
    "@octocat and @org/team",
    "x\n\nAll clear: no regressions\n===",
    "a | b | c",
    "`code` ``` fence",
    "[click](https://evil.example) ![i](https://evil.example/i.png)",
    "**bold** _it_ ~~struck~~ <b>b</b>",
    "# heading",
    "\n- item\n1. item\n> quote\n---\n",
    "www.evil.example and https://evil.example/x",
    "\x1b[31mred\x1b[0m\n::error::pwned\n::add-mask::x",
    "&#64;octocat &lt;img src=x&gt; \\<b>",
    "\u202eevil\u202c",
    "<!-- hidden --><details><summary>s</summary>",
    "    indented code",
]
# What may never appear in the summary's source: mentions, autolinks, raw control characters.
FORBIDDEN_IN_SOURCE = ("@", "://", "\x1b", "\u202e", "www.")
# HTML the payloads hold; the report must show it as text.
LIVE_HTML = (
    '<img src="https://evil',
    "<script>alert(1)",
    "<b>b</b>",
    "<summary>s</summary>",
    "<!-- hidden",
    'href="https://evil',
    'src="https://evil',
)


def payload(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def poisoned(source: Path, target: Path) -> None:
    """Every text field of every results file in `source`, replaced by payloads (the same text
    for the same original, so base and candidate cases still match)."""
    target.mkdir()
    names: dict[str, str] = {}

    def swap(text: Any) -> str:
        return names.setdefault(str(text), payload(len(names)) + f" {len(names)}")

    for path in source.glob("metrics-*.json"):
        data = json.loads(path.read_text())
        env = data["environment"]
        for key in ("machine", "platform", "cpu", "executable", "commit"):
            env[key] = swap(f"env {key}")
        for case in data["results"]:
            for key in ("map", "workload", "key_kind"):
                case[key] = swap(case[key])
            case["params"] = {swap("param"): swap("value")}
            if case.get("status") != "ok":
                case["error"] = swap("error")
            for m in case["metrics"]:
                m["unit"] = swap(m["unit"])
                m["note"] = swap("note")
        (target / path.name).write_text(json.dumps(data))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(summary.md, report.html, everything printed) of a comparison of poisoned results."""
    where = tmp_path_factory.mktemp("payloads")
    poisoned(RUNS / "base", where / "base")
    poisoned(RUNS / "candidate", where / "candidate")
    out, err = io.StringIO(), io.StringIO()
    args = ["compare", str(where / "base"), str(where / "candidate"), "--all"]
    args += ["--markdown", str(where / "s.md"), "--html", str(where / "r.html")]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    assert status in (0, 1), err.getvalue()
    summary = (where / "s.md").read_text(encoding="utf-8")
    return summary, (where / "r.html").read_text(encoding="utf-8"), out.getvalue() + err.getvalue()


def test_the_summary_keeps_its_structure_and_holds_no_live_markup(
    rendered: tuple[str, str, str],
) -> None:
    summary = rendered[0]
    assert "🔴" in summary and "evil" in summary  # payloads made it in, escaped
    for text in FORBIDDEN_IN_SOURCE:
        assert text not in summary, text
    tokens = MarkdownIt("commonmark").enable("table").parse(summary)
    kinds = {t.type for t in tokens}
    for live in ("link_open", "image", "code_inline", "fence", "code_block", "bullet_list_open",
                 "ordered_list_open", "blockquote_open", "hr", "html_block"):  # fmt: skip
        assert live not in kinds, live
    inline = [c for t in tokens if t.children for c in t.children]
    assert {c.type for c in inline} & {"link_open", "image", "code_inline", "em_open"} == set()
    html = {c.content for c in inline if c.type == "html_inline"}
    assert html <= {"<sub>", "</sub>"}, html
    headings = [t for t in tokens if t.type == "heading_open"]
    assert [h.tag for h in headings] == ["h3"]  # the summary's own title only
    # Every table row has the header's six cells.
    rows = [line for line in summary.splitlines() if line.startswith("|")]
    assert len(rows) > 3
    for row in rows:
        assert len(re.split(r"(?<!\\)\|", row)) == 8, row


def test_the_html_report_holds_no_live_markup(rendered: tuple[str, str, str]) -> None:
    report = rendered[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report  # the payloads are shown, as text
    for live in LIVE_HTML:
        assert live not in report, live


def test_nothing_printed_holds_a_control_sequence_or_a_workflow_command(
    rendered: tuple[str, str, str],
) -> None:
    printed = rendered[2]
    assert "\x1b" not in printed and "\u202e" not in printed
    assert not any(line.lstrip().startswith("::") for line in printed.splitlines())


@pytest.mark.parametrize("text", PAYLOADS)
def test_markdown_inline_is_one_inert_line(text: str) -> None:
    escaped = markdown_inline(text)
    assert "\n" not in escaped and "<" not in escaped and "@" not in escaped
    tokens = MarkdownIt("commonmark").parse(f"| a |\n|---|\n| {escaped} |")
    assert [t.type for t in tokens][:1] != ["heading_open"]
    assert {c.type for t in tokens if t.children for c in t.children} <= {"text", "softbreak"}


def test_terminal_text_and_stream() -> None:
    assert terminal_text("a\x1b[2Jb\r") == "a\\x1b[2Jb\\x0d"
    assert terminal_text("ok\n::error::x\n  ::warning::y") == (
        "ok\n:\u200b:error::x\n  :\u200b:warning::y"
    )
    raw = io.StringIO()
    stream = TerminalStream(raw)
    print("name:", "::set-output::x", "\x1b]0;title\x07", file=stream)
    # print() writes each argument apart: a `::` starting one is broken too (invisibly)
    assert raw.getvalue() == "name: :\u200b:set-output::x \\x1b]0;title\\x07\n"
