"""Gold-file tests of the HTML report and Markdown summary, escaping, and file ownership."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from mapbench.reports import charts, render_html, render_markdown
from mapbench.reports import render as render_module

from mapbench.compare import compare
from mapbench.escaping import markdown_inline
from mapbench.results import combine, load, where

HERE = Path(__file__).parent
GOLD = HERE / "gold"
# Set MAPBENCH_UPDATE_GOLD=1 to rewrite the gold files after an intended change (then review
# the diff): numbers come from seeded statistics, so only a real change moves them.
UPDATE = os.environ.get("MAPBENCH_UPDATE_GOLD") == "1"
_MASKS = [
    (re.compile(r'(<span class="version">)[^<]*(</span>)'), r"\1VERSION\2"),
    (re.compile(r'(<time class="generated">)[^<]*(</time>)'), r"\1DATE\2"),
    (re.compile(r"(<dt>mapbench_version</dt><dd>)[^<]*(</dd>)"), r"\1VERSION\2"),
]


def masked(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def check_gold(name: str, text: str) -> None:
    path = GOLD / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no gold file {path}: run with MAPBENCH_UPDATE_GOLD=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def in_tests_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths in reports, so gold files do not depend on the checkout's location."""
    monkeypatch.chdir(HERE)


@pytest.mark.usefixtures("in_tests_dir")
def test_comparison_report_gold(tmp_path: Path) -> None:
    base, cand = load(["fixtures/runs/base"]), load(["fixtures/runs/candidate"])
    comparison = compare(base, cand, base_label="base", candidate_label="candidate")
    out = render_html(combine([base, cand]), tmp_path / "report.html", comparison)
    check_gold("comparison.html", masked(out.read_text(encoding="utf-8")))
    md = render_markdown(comparison, tmp_path / "summary.md")
    check_gold("comparison.md", md.read_text(encoding="utf-8"))


@pytest.mark.usefixtures("in_tests_dir")
def test_history_report_gold(tmp_path: Path) -> None:
    results = load(["fixtures/asv/results"])
    commits = sorted(set(zip(results.frame["commit_date"], results.frame["commit"], strict=True)))
    before, after = commits[1][1], commits[2][1]  # the commit that made sharded hash twice
    comparison = compare(
        where(results, {"commit": before}), where(results, {"commit": after}),
        base_label="before", candidate_label="after",
    )  # fmt: skip
    out = render_html(results, tmp_path / "history.html", comparison)
    check_gold("history.html", masked(out.read_text(encoding="utf-8")))


def test_report_structure_and_summary_first(tmp_path: Path) -> None:
    runs = load([HERE / "fixtures" / "runs"])
    comparison = compare(where(runs, {"python": "3.10"}), where(runs, {"python": "3.13"}))
    text = render_html(runs, tmp_path / "r.html", comparison).read_text(encoding="utf-8")
    assert text.index('id="verdict"') < text.index('id="overview"') < text.index('id="metrics"')
    assert "python 3.10.13 → 3.13.0" in text
    assert "modelled, uniform hashing" in text  # the theory curve says what it is
    assert text.count("<svg") >= 3 and 'class="chart chart-histogram"' in text
    assert 'class="chart chart-box"' in text  # GC pauses
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert "https://" not in text


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    results = load([HERE / "fixtures" / "runs" / "base"])
    text = render_html(results, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    assert markdown_inline("a|b <i>*x*</i>") == r"a\|b &lt;i&gt;\*x\*&lt;/i&gt;"


def test_damaged_inputs_still_render_with_problems_listed(tmp_path: Path) -> None:
    results = load([HERE / "fixtures" / "damaged", HERE / "fixtures" / "asv" / "results"])
    text = render_html(results, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="problems"' in text
    for name in ("truncated-pyperf.json", "wrong-schema.json", "metrics-9.9.9.json"):
        assert name in text
    assert 'id="history"' in text  # the good asv results are still there


def test_a_filtered_asv_run_lists_cases_not_run_apart_from_failures(tmp_path: Path) -> None:
    """The fixture is a real `asv run` that ran dict alone: asv wrote NaN for the other maps'
    combinations. They are "not run", never failures. A helper function asv once discovered
    beside the suites (cli_startup.time_call, which failed) names no map, so no workload."""
    results = tmp_path / "results"
    shutil.copytree(HERE / "fixtures" / "asv-suite" / "results", results)
    [path] = (results / "vm").glob("2*.json")
    data = json.loads(path.read_text())
    data["results"]["cli_startup.time_call"] = [None]  # asv drops the trailing nulls
    path.write_text(json.dumps(data))
    frame = load([results]).frame
    timed = frame[frame["benchmark"] == "suite.TimeWorkloads.time_run"]
    assert timed["status"].value_counts().to_dict() == {"not run": 252, "ok": 18}
    helper = frame[frame["benchmark"] == "cli_startup.time_call"]
    assert list(helper["status"]) == ["failed"] and list(helper["workload"]) == [""]
    assert "call" not in set(frame["workload"])
    page = render_html(load([results]), tmp_path / "r.html").read_text(encoding="utf-8")
    failures = page[page.index('id="failures"') : page.index('id="not-run"')]
    assert failures.count("<tr") == 2  # the header and cli_startup.time_call
    assert "cli_startup.time_call" in failures and "dict" not in failures
    workloads = re.search(r"<dt>workloads</dt><dd>([^<]*)</dd>", page)
    assert workloads is not None and "call" not in workloads.group(1).split(", ")
    assert "<dt>results</dt><dd>1 failed, 316 not run</dd>" in page
    not_run = page[page.index('id="not-run"') :]
    assert re.search(r"<td[^>]*>not run</td>\s*<td[^>]*>316</td>", not_run)


def test_failed_render_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(render_module.viewmodel, "build", broken)
    target = tmp_path / "report.html"
    with pytest.raises(RuntimeError, match="boom"):
        render_html(load([HERE / "fixtures" / "runs" / "base"]), target)
    assert list(tmp_path.iterdir()) == []


def test_a_long_history_is_drawn_as_lines_without_a_dot_per_commit() -> None:
    """A dot (and its hover text) per commit while they stay apart; beyond, the line alone."""

    def panel(n: int) -> charts.Chart:
        points = [(i, 1.0 + (i % 3) / 10, f"commit {i}") for i in range(n)]
        commits = [f"{i:07x}" for i in range(n)]
        return charts.history_panel(
            "t", "s", [("Python 3.12", points)], commits, [(n // 2, "x1.1", "")]
        )

    short, long = panel(20), panel(1000)
    assert charts.dots_fit(20) and not charts.dots_fit(1000)
    assert len(short.series[0].points) == 20 and short.series[0].points[3].title.endswith(
        "commit 3"
    )
    assert long.series[0].points == () and long.series[0].path.count("L") == 999
    assert len(long.markers) == 1  # change points stay marked
