"""Open a generated report in headless Chromium: no console errors, charts render, tables sort."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
    _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")


def test_report_in_chromium(tmp_path: Path) -> None:
    base, cand = load([RUNS / "base"]), load([RUNS / "candidate"])
    report = render_html(
        combine([base, cand, load([ASV])]), tmp_path / "report.html", compare(base, cand)
    )
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: errors.append(f"fetched {r.url}")
                    if not r.url.startswith("file:") else None)  # fmt: skip
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
            header = table.locator("th", has_text="change")
            column = int(header.evaluate("th => th.cellIndex"))
            header.click()
            assert header.get_attribute("aria-sort") == "ascending"
            ascending = [float(x) for x in _sort_keys(table, column) if x]
            assert ascending == sorted(ascending) and len(ascending) > 3
            header.click()
            descending = [float(x) for x in _sort_keys(table, column) if x]
            assert descending == sorted(descending, reverse=True)

            page.fill("input.filter", "toy-double capacity")
            visible = table.locator("tbody tr:visible")
            assert 0 < visible.count() < table.locator("tbody tr").count()

            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert errors == []


def _sort_keys(table: object, column: int) -> list[str]:
    rows = table.locator("tbody tr")  # type: ignore[attr-defined]
    return [rows.nth(i).locator("td").nth(column).get_attribute("data-sort") or ""
            for i in range(rows.count())]  # fmt: skip
