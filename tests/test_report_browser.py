"""Open generated reports in headless Chromium at 1280 and 390 px: findings first, key columns
in view without sideways scrolling, charts drawn, headers sorting from the keyboard."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mapbench.reports import render_html

from mapbench.compare import VERDICTS, compare
from mapbench.results import combine, load

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUNS = Path(__file__).parent / "fixtures" / "runs"
ASV = Path(__file__).parent / "fixtures" / "asv" / "results"
WIDE, NARROW, HEIGHT = 1280, 390, 900

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# CI sets MAPBENCH_REQUIRE_BROWSER=1: there a missing browser fails the run instead of skipping.
def _missing(reason: str) -> None:
    if os.environ.get("MAPBENCH_REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    from playwright import sync_api
except ImportError:
    _missing("Playwright for Python not installed (pip install 'mapbench[browser]')")
if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
    _missing(
        f"Chromium not found at {CHROMIUM}: install it to run the browser test "
        "(sudo apt-get install chromium); MAPBENCH_REQUIRE_BROWSER=1 makes this a failure"
    )

Opener = Callable[[Path, int], Any]


@pytest.fixture
def open_page() -> Iterator[Opener]:
    """Opens a report in a fresh page of the given width; on exit, asserts the pages saw no
    console error, page error or network fetch."""
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        def opener(report: Path, width: int) -> Any:
            page = browser.new_page(viewport={"width": width, "height": HEIGHT})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: errors.append(f"fetched {r.url}")
                    if not r.url.startswith("file:") else None)  # fmt: skip
            page.goto(report.as_uri())
            return page

        try:
            yield opener
        finally:
            browser.close()
    assert errors == []


@pytest.fixture(scope="module")
def comparison_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base, cand = load([RUNS / "base"]), load([RUNS / "candidate"])
    out = tmp_path_factory.mktemp("cmp") / "report.html"
    return render_html(combine([base, cand, load([ASV])]), out, compare(base, cand))


@pytest.fixture(scope="module")
def single_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_html(load([RUNS / "base"]), tmp_path_factory.mktemp("single") / "report.html")


def _findings_first(page: Any) -> None:
    """The findings are the first block of the page, and start within the first screen."""
    blocks = page.evaluate(
        "() => Array.from(document.querySelectorAll('main > section, main > h2')).map(e => e.id)"
    )
    assert blocks[0] == "findings" and len(blocks) > 3
    box = page.locator("#findings").bounding_box()
    assert box is not None and box["y"] < HEIGHT / 2 and box["height"] > 50
    assert page.locator("#findings li").count() >= 2


def _no_sideways_scrolling(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_comparison_report(comparison_report: Path, open_page: Opener, width: int) -> None:
    page = open_page(comparison_report, width)
    _findings_first(page)
    _no_sideways_scrolling(page, width)
    assert "regression" in page.locator("#verdict h2").inner_text()
    assert page.locator("#verdict-counts .chip").count() == len(VERDICTS)  # one per verdict
    table = page.locator("#verdict-table")
    headers = [h.strip(" ⇅▲▼") for h in table.locator("thead th").all_inner_texts()]
    assert headers[:4] == ["verdict", "change", "interval", "q"]
    if width == WIDE:  # the key cells of the first rows in view, nothing scrolled sideways
        wrap = table.locator("xpath=..")
        assert "scrolls" not in (wrap.get_attribute("class") or "")
        for r in range(3):
            for c in range(3):
                box = table.locator("tbody tr").nth(r).locator("td").nth(c).bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert page.locator("figure.chart-line svg path").count() > 0  # history panels
        assert page.locator("figure.chart-histogram rect.bar").count() > 0
        link = page.locator("#verdict ~ ul.highlights a").first
        target = (link.get_attribute("href") or "").lstrip("#")
        assert target and table.locator(f"tr#{target}").count() == 1  # a finding links its row
    _sorts_from_keyboard(table, table.locator("th", has_text="change"))
    page.fill("input.filter", "toy-double capacity")
    visible = table.locator("tbody tr:visible")
    assert 0 < visible.count() < table.locator("tbody tr").count()
    page.screenshot(path=str(comparison_report.with_name(f"comparison-{width}.png")))


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_single_run_report(single_report: Path, open_page: Opener, width: int) -> None:
    page = open_page(single_report, width)
    _findings_first(page)
    _no_sideways_scrolling(page, width)
    assert page.locator("#verdict").count() == 0
    fastest = page.locator("#findings a[href^='#time-']").first
    assert fastest.count() == 1  # the fastest map links to its time table row
    table = page.locator("table[id^='time-size-1-000']")
    box = table.bounding_box()
    assert box is not None and box["height"] > 60
    rows = table.locator("tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == [
        "dict", "sharded",
    ]  # fmt: skip
    assert table.locator("td.best").count() == 2  # the fastest map of each workload
    cell = rows.nth(1).locator("td").nth(1).inner_text()
    assert "n 6" in cell and "dict" in cell  # interval, n (worker processes), ratio to dict
    chart = page.locator("figure.chart-interval").first
    assert chart.locator("g.estimate").count() == 2  # a dot and whiskers per map
    assert chart.locator("line.whisker").count() >= 2
    _sorts_from_keyboard(table, table.locator("th", has_text="lookup-hit"))
    assert rows.first.locator("td").first.inner_text() == "sharded"  # slowest first, descending
    if width == WIDE:
        pair = page.locator("figure.probe").first.locator("figure.chart-histogram")
        assert pair.count() == 2  # hits and misses side by side
        hits, misses = pair.nth(0).bounding_box(), pair.nth(1).bounding_box()
        assert hits is not None and misses is not None and misses["x"] > hits["x"] + 200
    page.screenshot(path=str(single_report.with_name(f"single-{width}.png")), full_page=True)


def _sorts_from_keyboard(table: Any, header: Any) -> None:
    """Enter on a header's button sorts ascending, Space then descending (by data-sort)."""
    column = int(header.evaluate("th => th.cellIndex"))
    button = header.locator("button")
    button.focus()
    button.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = [float(x) for x in _sort_keys(table, column) if x]
    assert ascending == sorted(ascending) and len(ascending) >= 2
    button.press("Space")
    assert header.get_attribute("aria-sort") == "descending"
    descending = [float(x) for x in _sort_keys(table, column) if x]
    assert descending == sorted(descending, reverse=True)


def _sort_keys(table: Any, column: int) -> list[str]:
    rows = table.locator("tbody tr")
    return [rows.nth(i).locator("td").nth(column).get_attribute("data-sort") or ""
            for i in range(rows.count())]  # fmt: skip
