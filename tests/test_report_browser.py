"""Open a generated report in headless Chromium: no console errors, charts render, tables sort."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mapbench.reports import render_html

from mapbench.compare import compare
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


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page, and the console errors, page errors and network fetches it saw."""
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: errors.append(f"fetched {r.url}")
                    if not r.url.startswith("file:") else None)  # fmt: skip
            yield page, errors
        finally:
            browser.close()


def test_report_in_chromium(tmp_path: Path, browser_page: tuple[Any, list[str]]) -> None:
    page, errors = browser_page
    base, cand = load([RUNS / "base"]), load([RUNS / "candidate"])
    report = render_html(
        combine([base, cand, load([ASV])]), tmp_path / "report.html", compare(base, cand)
    )
    page.goto(report.as_uri())

    banner = page.locator("#verdict h2")
    assert "regression" in banner.inner_text()
    assert page.locator("#verdict-counts .chip").count() == 4

    chart = page.locator("figure.chart-line svg").first
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    assert page.locator("figure.chart-line svg path").count() > 0
    assert page.locator("figure.chart-histogram rect.bar").count() > 0

    table = page.locator("#verdict-table")
    _check_sorts(table, table.locator("th", has_text="change"))

    page.fill("input.filter", "toy-double capacity")
    visible = table.locator("tbody tr:visible")
    assert 0 < visible.count() < table.locator("tbody tr").count()

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    assert errors == []


def test_single_run_report_time_table(tmp_path: Path, browser_page: tuple[Any, list[str]]) -> None:
    """The main job's report: time per operation first, sortable; probe figures side by side."""
    page, errors = browser_page
    report = render_html(load([RUNS / "base"]), tmp_path / "report.html")
    page.goto(report.as_uri())

    assert page.locator("#verdict").count() == 0
    table = page.locator("table[id^='time-size-1-000']")
    box = table.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 60
    rows = table.locator("tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == [
        "dict", "sharded",
    ]  # fmt: skip
    assert table.locator("td.best").count() == 2  # the fastest map of each workload
    assert "dict" in table.locator("tbody tr").nth(1).locator("td").nth(1).inner_text()  # ratio
    header = table.locator("th", has_text="lookup-hit")
    _check_sorts(table, header)
    assert rows.first.locator("td").first.inner_text() == "sharded"  # slowest first, descending

    pair = page.locator("figure.probe").first.locator("figure.chart-histogram")
    assert pair.count() == 2  # hits and misses side by side
    hits, misses = pair.nth(0).bounding_box(), pair.nth(1).bounding_box()
    assert hits is not None and misses is not None and misses["x"] > hits["x"] + 200
    page.screenshot(path=str(tmp_path / "single.png"), full_page=True)
    assert errors == []


def _check_sorts(table: Any, header: Any) -> None:
    """Clicking a numeric header sorts ascending, clicking again descending (by data-sort)."""
    column = int(header.evaluate("th => th.cellIndex"))
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = [float(x) for x in _sort_keys(table, column) if x]
    assert ascending == sorted(ascending) and len(ascending) >= 2
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    descending = [float(x) for x in _sort_keys(table, column) if x]
    assert descending == sorted(descending, reverse=True)


def _sort_keys(table: Any, column: int) -> list[str]:
    rows = table.locator("tbody tr")
    return [rows.nth(i).locator("td").nth(column).get_attribute("data-sort") or ""
            for i in range(rows.count())]  # fmt: skip
