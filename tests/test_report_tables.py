"""The single-run report's tables and probe figures, from small hand-made frames."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from mapbench.reports import probes, themes, timetable, viewmodel

from mapbench import formatting, theory
from mapbench._result_rows import Row
from mapbench.results import ResultSet, _frame


def row(workload: str, metric: str, value: float, **fields: Any) -> Row:
    base: dict[str, Any] = {
        "source": "mapbench", "file": "metrics-3.12.json", "machine": "vm", "commit": "c0ffee",
        "commit_date": None, "python": "3.12.1", "env": "", "benchmark": workload, "map": "dict",
        "workload": workload, "size": 1000, "key_kind": "random-int", "params": "",
        "metric": metric, "unit": "", "kind": "deterministic", "value": value, "samples": (),
    }  # fmt: skip
    base.update(fields)
    return Row(**base)


def test_time_table_cells_statistic_median_ratio_and_fastest() -> None:
    samples = {"dict": (1e-7, 2e-7, 3e-7, 4e-7, 5e-7), "slow": (1e-6, 1e-6, 2e-6, 3e-6, 4e-6)}
    frame = _frame([
        row("lookup-hit", "time", float(np.median(s)), map=m, source="pyperf", unit="seconds",
            kind="noisy", samples=s, file="pyperf-3.12.json")
        for m, s in samples.items()
    ])  # fmt: skip
    (section,) = timetable.time_sections(frame, "p10")
    assert section.title == "size 1,000 · random-int keys"
    assert section.table.headers == ("map", "lookup-hit")
    dict_cell, slow_cell = (r[1] for r in section.table.rows)
    p10 = {m: float(np.percentile(s, 10)) for m, s in samples.items()}
    assert float(dict_cell.sort) == pytest.approx(p10["dict"])
    assert dict_cell.css == "best" and slow_cell.css == ""
    assert dict_cell.sub == ("med 300 ns",)  # the reference map has no ratio to itself
    ratio = p10["slow"] / p10["dict"]
    assert slow_cell.sub == ("med 2 µs", f"{ratio:.3g}{formatting.TIMES} dict")
    (minimum,) = timetable.time_sections(frame, "min")
    assert float(minimum.table.rows[1][1].sort) == pytest.approx(1e-6)


def test_time_table_has_a_column_group_per_python() -> None:
    frame = _frame([
        row(w, "time", 1e-7, python=p, source="pyperf", unit="seconds", kind="noisy",
            samples=(1e-7,) * 5)
        for p in ("3.12.1", "3.10.13") for w in ("insert", "lookup-hit")
    ])  # fmt: skip
    (section,) = timetable.time_sections(frame, "p10")
    assert section.table.groups == (("", 1), ("Python 3.10.13", 2), ("Python 3.12.1", 2))
    assert section.table.headers == ("map", "insert", "lookup-hit", "insert", "lookup-hit")
    assert section.table.column_css == ("", "start", "", "start", "")


def test_theme_rows_with_identical_numbers_are_merged() -> None:
    frame = _frame([
        row("insert", "memory_bytes_per_entry", 37.6, unit="B"),
        row("lookup-hit", "memory_bytes_per_entry", 37.6, unit="B"),
        row("delete", "memory_bytes_per_entry", 38.0, unit="B"),
    ])  # fmt: skip
    (memory,) = themes.theme_sections(frame, {})
    assert memory.anchor == "memory"
    workloads = [r[1].text for r in memory.table.rows]
    assert workloads == ["insert, lookup-hit", "delete"]
    assert "Every row: size 1,000, random-int keys." in memory.note  # constants: in the note


def test_probe_theme_labels_the_model_and_skips_it_for_buckets() -> None:
    load = 0.5
    frame = _frame([r for group in [
        [row("lookup-hit", "load_factor", load, map=m),
         row("lookup-hit", "probe_hit_mean", 1.3, map=m, unit=unit),
         row("lookup-hit", "probe_miss_mean", 2.1, map=m, unit=unit)]
        for m, unit in (("dict", "slots"), ("gobucket", "buckets"))] for r in group])  # fmt: skip
    (table,) = themes.theme_sections(frame, {})
    headers = table.table.headers
    assert "hit mean, modelled" in headers and "modelled" in table.note
    column = headers.index("hit mean, modelled")
    assert "modelled" in table.table.column_css[column]
    dict_row, bucket_row = table.table.rows
    assert float(dict_row[column].sort) == pytest.approx(theory.hit_mean(load))
    assert bucket_row[column].text == formatting.MISSING


def test_modelled_means_match_the_distributions() -> None:
    assert theory.hit_mean(0.5) == pytest.approx(2 * math.log(2))
    assert theory.miss_mean(0.75) == pytest.approx(4.0)
    for load in (0.3, 0.6, 0.9):
        hits = theory.hit_probabilities(load, 400)
        misses = theory.miss_probabilities(load, 400)
        assert sum(k * p for k, p in enumerate(hits)) == pytest.approx(theory.hit_mean(load))
        assert sum(k * p for k, p in enumerate(misses)) == pytest.approx(theory.miss_mean(load))


def _histograms(workload: str, size: int, load: float, hit: tuple[float, ...]) -> list[Row]:
    common = {"size": size, "unit": "slots"}
    return [
        row(workload, "probe_hit_histogram", 1.0, samples=hit, **common),
        row(workload, "probe_miss_histogram", 1.0, samples=(0.0, 5.0, 2.0), **common),
        row(workload, "load_factor", load, size=size),
    ]


def test_probe_figures_feature_lookup_hit_at_the_largest_size_and_skip_empty_tables() -> None:
    frame = _frame([
        *_histograms("insert", 10_000, 0.5, (0.0, 7.0, 3.0)),
        *_histograms("lookup-hit", 10_000, 0.5, (0.0, 7.0, 3.0)),  # the same table as insert
        *_histograms("lookup-hit", 1000, 0.4, (0.0, 8.0, 2.0)),
        *_histograms("delete", 10_000, 0.0, (0.0,)),  # empty table: nothing to draw
    ])  # fmt: skip
    view = probes.probe_view(frame)
    (featured,) = view.featured
    assert featured.subtitle.startswith("after insert, lookup-hit (identical) · size 10,000")
    assert featured.hit is not None and featured.miss is not None
    assert "modelled" in featured.hit.series[0].label
    assert "modelled 1.39" in featured.stats  # 2 ln 2 at load 0.5
    (other,) = view.more
    assert "size 1,000" in other.subtitle
    assert "1 tables with no entries" in view.note


def test_single_run_view_has_no_verdict_and_shows_failures() -> None:
    frame = _frame([
        row("insert", "time", 1e-7, source="pyperf", unit="seconds", samples=(1e-7,) * 3),
        row("insert", "", math.nan, map="broken", status="failed", error="RuntimeError: boom"),
    ])  # fmt: skip
    view = viewmodel.build(ResultSet(frame), None, "t")
    assert view.summary is None and view.scope == ""
    assert view.failures is not None
    assert [c.text for c in view.failures.rows[0]][::4] == ["failed", "RuntimeError: boom"]
    assert ("cases", "2 in 1 files (mapbench, pyperf); 1 failed") in view.overview
