"""The report's tables, findings, charts and summary, from small hand-made frames."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mapbench.reports import (
    history,
    other_metrics,
    probes,
    spread,
    tables,
    timing,
    verdicts,
    viewmodel,
)

from mapbench import formatting, theory
from mapbench.compare import compare
from mapbench.results import ResultSet, Row, frame_of
from mapbench.thresholds import Thresholds


def row(workload: str, metric: str, value: float, **fields: Any) -> Row:
    base: dict[str, Any] = {
        "source": "mapbench", "file": "metrics-3.12.json", "machine": "vm", "commit": "c0ffee",
        "commit_date": None, "python": "3.12.1", "env": "", "benchmark": workload, "map": "dict",
        "workload": workload, "size": 1000, "key_kind": "random-int", "params": "",
        "metric": metric, "unit": "", "kind": "deterministic", "value": value, "samples": (),
    }  # fmt: skip
    base.update(fields)
    return Row(**base)


def _times(
    samples: dict[str, tuple[float, ...]], workload: str = "lookup-hit", **fields: Any
) -> list[Row]:
    return [
        row(workload, "time", float(np.median(s)), map=m, source="pyperf", unit="s",
            kind="noisy", samples=s, file="pyperf-3.12.json", **fields)
        for m, s in samples.items()
    ]  # fmt: skip


def _section(frame: pd.DataFrame, statistic: str = "p10") -> Any:
    (section,) = timing.time_sections(timing.time_tables(frame, statistic))
    return section


def _processes(*bases: float) -> dict[str, Any]:
    """Row fields of worker processes that each ran (x, 2x, 3x): their p10 is 1.2x, min x."""
    return {"samples": tuple(k * x for x in bases for k in (1, 2, 3)), "groups": (3,) * len(bases)}


def test_time_table_cells_statistic_interval_ratio_and_fastest() -> None:
    """A cell is the median of its processes' p10s, with that median's interval."""
    dict_x = (1.00e-7, 1.01e-7, 1.02e-7, 1.03e-7, 1.04e-7, 1.05e-7)
    slow_x = (1e-6, 2e-6, 3e-6, 4e-6, 5e-6, 6e-6)
    frame = frame_of([
        row("lookup-hit", "time", 1.0, map=m, source="pyperf", unit="s", kind="noisy",
            file="pyperf-3.12.json", **_processes(*xs))
        for m, xs in (("dict", dict_x), ("slow", slow_x))
    ])  # fmt: skip
    section = _section(frame)
    assert section.title == "size 1,000 · random-int keys"
    assert section.table.headers == ("map", "lookup-hit", timing.GEOMEAN)
    dict_cell, slow_cell = (r[1] for r in section.table.rows)
    median = {"dict": 1.2 * float(np.median(dict_x)), "slow": 1.2 * float(np.median(slow_x))}
    assert float(dict_cell.sort) == pytest.approx(median["dict"])
    assert "best" in dict_cell.css.split() and "best" not in slow_cell.css.split()
    interval, n = dict_cell.sub[0].split(" · ")
    assert n == "n 6" and interval.endswith(" ns")  # the median's interval, then n processes
    # Six processes: the 95% interval of their median runs from the smallest to the largest.
    assert interval == "120\u2013126 ns"
    ratio = median["slow"] / median["dict"]
    assert slow_cell.sub[1] == f"{ratio:.3g}{formatting.TIMES} dict"
    assert "unstable" in slow_cell.css and slow_cell.sub[-1] == "unstable"  # IQR ~70% of median
    assert "unstable" not in dict_cell.css
    assert section.table.row_ids == ("time-size-1-000-random-int-keys-row-dict",
                                     "time-size-1-000-random-int-keys-row-slow")  # fmt: skip
    minimum = _section(frame, "min")
    assert float(minimum.table.rows[1][1].sort) == pytest.approx(3.5e-6)


def test_time_table_geometric_mean_of_ratios_to_dict() -> None:
    frame = frame_of([
        *_times({"dict": (1e-7,) * 5, "other": (2e-7,) * 5}, "insert"),
        *_times({"dict": (1e-7,) * 5, "other": (0.5e-7,) * 5}, "lookup-hit"),
        *_times({"dict": (1e-7,) * 5, "other": (4e-7,) * 5}, "delete"),
    ])  # fmt: skip
    section = _section(frame)
    geomean = section.table.headers.index(timing.GEOMEAN)
    dict_row, other_row = section.table.rows
    assert dict_row[geomean].sub == ("reference",)
    assert float(other_row[geomean].sort) == pytest.approx((2 * 0.5 * 4) ** (1 / 3))
    assert other_row[geomean].sub == ("3 workloads",)
    assert "unstable" not in other_row[1].css  # identical samples: no spread


def test_spread_flags_few_processes_and_wide_spread() -> None:
    t = Thresholds()
    few = spread.spread((1.0, 1.1, 1.2), t)
    tight = spread.spread((1.0, 1.01, 1.02, 1.01, 1.0, 1.01), t)
    wide = spread.spread((1.0, 2.0, 3.0, 4.0, 5.0, 6.0), t)
    assert few.unstable.startswith("too few processes")
    assert math.isnan(few.low)  # 3 processes give no 95% interval of their median
    assert tight.unstable == ""
    assert wide.unstable.startswith("wide spread")
    assert (wide.low, wide.statistic, wide.high) == (1.0, 3.5, 6.0)


def test_time_table_has_a_column_group_per_python() -> None:
    frame = frame_of([
        row(w, "time", 1e-7, python=p, source="pyperf", unit="s", kind="noisy",
            samples=(1e-7,) * 5)
        for p in ("3.12.1", "3.10.13") for w in ("insert", "lookup-hit")
    ])  # fmt: skip
    section = _section(frame)
    assert section.table.groups == (("", 1), ("Python 3.10.13", 3), ("Python 3.12.1", 3))
    g = timing.GEOMEAN
    assert section.table.headers == ("map", "insert", "lookup-hit", g, "insert", "lookup-hit", g)
    assert section.table.column_css == ("", "start", "", "summary", "start", "", "summary")


def test_time_charts_one_per_workload_with_intervals() -> None:
    noise = np.random.default_rng(1)
    frame = frame_of([
        r
        for w in ("insert", "lookup-hit")
        for r in _times({m: tuple(t * (1 + noise.random(8) / 10))
                         for m, t in (("dict", 1e-7), ("cow", 3e-7))}, w)
    ])  # fmt: skip
    charts_ = timing.time_charts(timing.time_tables(frame, "p10"))
    assert [c.title for _, c in charts_] == ["insert", "lookup-hit"]
    marks = charts_[0][1].intervals
    assert [m.label for m in marks] == ["dict", "cow"] and marks[0].best
    assert all(m.low < m.x < m.high or m.low <= m.x <= m.high for m in marks)
    assert marks[0].x < marks[1].x  # log axis, faster to the left


def test_theme_rows_with_identical_numbers_are_merged() -> None:
    frame = frame_of([
        row("insert", "memory_bytes_per_entry", 37.6, unit="B"),
        row("lookup-hit", "memory_bytes_per_entry", 37.6, unit="B"),
        row("delete", "memory_bytes_per_entry", 38.0, unit="B"),
    ])  # fmt: skip
    (memory,), _ = tables.topic_sections(frame, viewmodel.TOPIC_TABLES, {})
    assert memory.anchor == "memory"
    workloads = [r[1].text for r in memory.table.rows]
    assert workloads == ["insert, lookup-hit", "delete"]
    assert "Every row: size 1,000, random-int keys." in memory.note  # constants: in the note


def test_probe_theme_labels_the_model_and_skips_it_for_buckets() -> None:
    load = 0.5
    frame = frame_of([r for group in [
        [row("lookup-hit", "load_factor", load, map=m),
         row("lookup-hit", "capacity", 2048, map=m, unit="slots"),
         row("lookup-hit", "probe_hit_mean", 1.3, map=m, unit="probes"),
         row("lookup-hit", "probe_miss_mean", 2.1, map=m, unit="probes"),
         *([row("lookup-hit", "probe_homes", homes, map=m)] if homes else [])]
        for m, homes in (("dict", 0), ("c-gobucket", 256), ("c-linear", 2048))]
        for r in group])  # fmt: skip
    (table,), _ = tables.topic_sections(frame, viewmodel.TOPIC_TABLES, {})
    headers = table.table.headers
    column = headers.index("modelled")
    assert "modelled" in table.note and "modelled" in table.table.column_css[column]
    assert "uniform hashing" in table.table.header_titles[column]
    dict_row, bucket_row, linear_row = table.table.rows
    assert float(dict_row[column].sort) == pytest.approx(theory.hit_mean(load))
    assert float(linear_row[column].sort) == pytest.approx(theory.hit_mean(load))
    assert bucket_row[column].text == formatting.MISSING  # a probe reads a bucket of 8 slots
    capacity = headers.index("capacity")
    assert bucket_row[capacity].text == "2,048 slots"
    assert bucket_row[capacity].sub == ("256 buckets of 8",)  # capacity in the unit it counts
    assert linear_row[capacity].sub == ()
    assert "probe_homes" not in headers  # it qualifies capacity; not a column of its own


def test_theme_of_only_zeros_is_left_out_and_said() -> None:
    frame = frame_of([row(w, m, 0.0, unit="collections") for w in ("insert", "delete")
                    for m in ("gc_collections", "gc_collections_gen2")])  # fmt: skip
    sections, quiet = tables.topic_sections(frame, viewmodel.TOPIC_TABLES, {})
    assert sections == [] and quiet == [
        "Garbage collection: every number is 0 in every case shown."
    ]


def test_latency_columns_are_titled_from_the_catalog() -> None:
    frame = frame_of([
        row("insert", "latency_p50", 1e-7, unit="s", kind="noisy"),
        row("insert", "latency_spikes", 3, unit="ops", kind="noisy"),
    ])  # fmt: skip
    sections = {s.anchor: s for s in tables.topic_sections(frame, viewmodel.TOPIC_TABLES, {})[0]}
    latency = sections["latency"]
    headers = latency.table.headers
    assert latency.table.header_titles[headers.index("p50")] == "Latency p50 (seconds)"


def test_other_metrics_grouped_by_family_with_catalog_titles() -> None:
    frame = frame_of([
        row("insert", "probe_homes", 256, map="c-gobucket"),
        row("insert", "probe_overflow_buckets", 3, map="c-gobucket"),
        row("insert", "probe_entries_used", 1000),
        row("insert", "latency_mean", 2e-7, unit="s", kind="noisy"),
        row("insert", "gc_collections_gen0", 0, unit="collections"),
    ])  # fmt: skip
    sections, quiet = other_metrics.other_sections(frame, tables.shown_in(viewmodel.TOPIC_TABLES))
    titles = [s.title for s in sections]
    assert titles == ["Latency, more", "Table statistics: c-gobucket", "Table statistics: dict"]
    assert sections[1].table.headers[-1] == "overflow buckets"
    assert sections[0].table.header_titles[-1] == "Latency mean (seconds)"
    assert quiet == ["Garbage collection by generation: every number is 0 in every case shown."]


def test_modelled_means_match_the_distributions() -> None:
    assert theory.hit_mean(0.5) == pytest.approx(2 * math.log(2))
    assert theory.miss_mean(0.75) == pytest.approx(4.0)
    for load in (0.3, 0.6, 0.9):
        hits = theory.hit_probabilities(load, 400)
        misses = theory.miss_probabilities(load, 400)
        assert sum(k * p for k, p in enumerate(hits)) == pytest.approx(theory.hit_mean(load))
        assert sum(k * p for k, p in enumerate(misses)) == pytest.approx(theory.miss_mean(load))


def _histograms(workload: str, size: int, load: float, hit: tuple[float, ...]) -> list[Row]:
    common = {"size": size, "unit": "probes"}
    return [
        row(workload, "probe_hit_histogram", 1.0, samples=hit, **common),
        row(workload, "probe_miss_histogram", 1.0, samples=(0.0, 5.0, 2.0), **common),
        row(workload, "load_factor", load, size=size),
    ]


def test_probe_figures_feature_lookup_hit_at_the_largest_size_and_skip_empty_tables() -> None:
    frame = frame_of([
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


def test_single_bar_histograms_are_said_not_drawn() -> None:
    frame = frame_of(_histograms("lookup-hit", 1000, 0.4, (0.0, 1000.0)))
    (featured,) = probes.probe_view(frame).featured
    assert featured.hit is None and featured.miss is not None
    assert "every hit took 1 probe" in featured.stats
    assert featured.miss.x_ticks[0].label == "1"  # no probe length 0 on the axis


def test_single_run_view_has_no_verdict_and_shows_failures() -> None:
    frame = frame_of([
        row("insert", "time", 1e-7, source="pyperf", unit="seconds", samples=(1e-7,) * 3),
        row("insert", "", math.nan, map="broken", status="failed", error="RuntimeError: boom"),
    ])  # fmt: skip
    view = viewmodel.build(ResultSet(frame), None, "t")
    assert view.summary is None and view.scope == ""
    assert view.failures is not None
    assert [c.text for c in view.failures.rows[0]][::4] == ["failed", "RuntimeError: boom"]
    assert ("cases", "2 in 1 files (mapbench, pyperf)") in view.overview
    assert ("results", "1 failed") in view.overview
    failures = next(t for t in view.findings if t.title == "Failures")
    (line,) = failures.lines
    assert line[0].href == "#" + view.failures.row_ids[0]  # the finding links to its row
    assert line[1].text == " failed: RuntimeError: boom"


def _noisy(center: float, seed: int, n: int = 12) -> tuple[float, ...]:
    return tuple(center * (1 + np.random.default_rng(seed).random(n) / 50))


def test_findings_name_the_fastest_map_with_its_margin_and_link_to_the_row() -> None:
    frame = frame_of([
        *_times({"dict": _noisy(1e-7, 1), "cow": _noisy(2e-7, 2), "fast": _noisy(0.5e-7, 3)},
                "insert"),
        *_times({"dict": _noisy(1e-7, 4), "cow": _noisy(1.01e-7, 5)}, "delete"),
    ])  # fmt: skip
    view = viewmodel.build(ResultSet(frame), None, "t")
    assert view.findings[0].title == "Fastest map per workload"
    insert, delete = view.findings[0].lines
    text = "".join(f.text for f in insert)
    assert text.startswith("insert: fast 50") and "; next dict +" in text and "slower [" in text
    assert insert[1].href == "#time-size-1-000-random-int-keys-row-fast"
    assert "a tie within the minimum effect" in "".join(f.text for f in delete)
    against = next(t for t in view.findings if t.title == "Against dict")
    lines = {line[0].text: "".join(f.text for f in line) for line in against.lines}
    assert (
        lines["cow"].startswith("cow: slower on insert +99")
        and "within ±5% on delete" in lines["cow"]
    )
    assert "% [+" in lines["cow"]  # the effect with its interval
    assert lines["fast"].startswith(f"fast: faster on insert {formatting.MINUS}50")


def test_findings_tail_with_spike_causes_memory_with_mappings_and_probe_model() -> None:
    frame = frame_of([
        *(row("insert", m, v, map=map_, unit=u, kind="noisy") for map_, m, v, u in (
            ("dict", "latency_p50", 1e-7, "s"), ("dict", "latency_p999", 5e-6, "s"),
            ("dict", "latency_spikes", 3, "ops"), ("dict", "latency_spikes_gc", 2, "ops"),
            ("cow", "latency_p50", 1e-7, "s"), ("cow", "latency_p999", 1e-6, "s"),
        )),
        row("insert", "memory_bytes_per_entry", 37.0, unit="B"),
        row("insert", "memory_bytes_per_entry", 98.0, unit="B", map="c-linear"),
        row("insert", "memory_bytes_per_entry", 2.0, unit="B", map="mmap"),
        row("insert", "memory_file_mapped_bytes_per_entry", 250.0, unit="B", map="mmap"),
        row("lookup-hit", "load_factor", 0.5, map="c-linear"),
        row("lookup-hit", "probe_hit_mean", 1.6, map="c-linear", unit="probes"),
    ])  # fmt: skip
    topics = {t.title: t for t in viewmodel.build(ResultSet(frame), None, "t").findings}
    (worst, _) = topics["Worst tail latency"].lines
    text = "".join(f.text for f in worst)
    assert text.startswith("dict · insert") and "p99.9 5 µs" in text and "3 spikes (gc 2)" in text
    assert worst[0].href.startswith("#latency-row-dict-insert")
    (memory,) = topics["Least memory (Memory per entry with file mappings)"].lines
    text = "".join(f.text for f in memory)
    # the mmap map's data lives in its mapped file: 2 B + 250 B, not 2 B
    assert text.startswith("dict 37 B per entry; most: mmap 252 B")
    (probe,) = topics["Probe lengths against uniform hashing (modelled, not measured)"].lines
    model = theory.hit_mean(0.5)
    assert "".join(f.text for f in probe).startswith(f"c-linear: 1.6 probes per hit vs {model:.3g}")


def _comparison_rows(verdict_rows: list[dict[str, Any]]) -> Any:
    """A Comparison whose rows are given (the statistics are compare's business, not ours)."""
    base = frame_of(_times({"dict": (1e-7,) * 5}))
    comparison = compare(ResultSet(base), ResultSet(base))
    template = comparison.rows.iloc[0].to_dict()
    rows = pd.DataFrame([{**template, **r} for r in verdict_rows])
    return type(comparison)(rows=rows, axis=(), base_label="main", candidate_label="pr",
                            thresholds=comparison.thresholds)  # fmt: skip


def test_summary_lists_every_verdict_deduplicates_and_picks_a_robust_worst() -> None:
    exact = {"kind": "deterministic", "metric": "probe_hit_max", "unit": "probes", "base": 4.0,
             "candidate": 9.0, "ratio": 2.25, "verdict": "regression"}  # fmt: skip
    comparison = _comparison_rows([
        {**exact, "workload": "insert"},
        {**exact, "workload": "lookup-hit"},  # the same table state: one change
        {"metric": "time", "base": 1e-7, "candidate": 1.2e-7, "ratio": 1.2, "ci_low": 1.1,
         "ci_high": 1.3, "verdict": "regression", "workload": "delete"},
        {"metric": "time", "ratio": 1.5, "verdict": "too noisy", "workload": "churn"},
        {"metric": "time", "ratio": 1.0, "verdict": "no change", "workload": "iterate"},
    ])  # fmt: skip
    s = verdicts.summary(comparison)
    assert [g.verdict for g in s.groups] == ["regression", "too noisy"]  # no "no change"
    regression = s.groups[0]
    assert regression.count == 2  # three rows, two distinct changes
    worst, probe = regression.rows
    assert worst.metric == "Time per operation"  # robust before a longest probe, though smaller
    assert (worst.before, worst.after, worst.change, worst.interval) == (
        "100 ns", "120 ns", "+20.0%", "[+10.0%, +30.0%]")  # fmt: skip
    assert "insert, lookup-hit" in probe.case and probe.before == "4 probes"
    assert s.headline.startswith("2 regressions; worst +20.0% (100 ns → 120 ns) in Time per")
    assert ("too noisy", 1, "unsure") in s.counts


def test_change_notation_is_one_per_interval() -> None:
    assert formatting.interval(2.312, 3.16) == f"[{formatting.TIMES}2.31, {formatting.TIMES}3.16]"
    assert formatting.interval(1.2, 3.2) == f"[{formatting.TIMES}1.2, {formatting.TIMES}3.2]"
    assert formatting.interval(1.08, 1.15) == "[+8.0%, +15.0%]"
    change, interval = formatting.change_and_interval(2.5, 1.5, 3.5)
    assert change == f"{formatting.TIMES}2.5" and interval.startswith(f"[{formatting.TIMES}1.5")


def _asv_like(values: dict[str, list[float]]) -> pd.DataFrame:
    """Four commits of `time` per map, asv style, with dates in order."""
    start = pd.Timestamp("2024-01-01", tz="UTC")
    return frame_of([
        row("lookup-hit", "time", v, map=m, source="asv", unit="s", kind="noisy",
            commit=f"{c:x}" * 40, commit_date=start + pd.Timedelta(days=c), python="3.12")
        for m, series in values.items() for c, v in enumerate(series, start=10)
    ])  # fmt: skip


def test_history_one_panel_per_case_relative_with_change_points() -> None:
    frame = _asv_like({"dict": [1.0, 1.0, 1.0, 1.0], "sharded": [2.0, 2.0, 4.0, 4.1]})
    points = pd.DataFrame([{"map": "sharded", "workload": "lookup-hit", "key_kind": "random-int",
                            "size": 1000, "metric": "time", "commit": "c" * 12,
                            "magnitude": 2.0}])  # fmt: skip
    found = history.history(frame, set(), points)
    (group,) = found.groups
    (panel,) = group.panels  # dict never moved: left out
    assert "1 constant history" in found.note
    assert panel.title == "sharded · lookup-hit · 1,000 · random-int"
    assert [t.label for t in panel.x_ticks] == ["a" * 8, "b" * 8, "c" * 8, "d" * 8]
    (line,) = panel.series
    assert line.points[-1].title.endswith(f"4.1 s (2.05{formatting.TIMES} first)")
    (marker,) = panel.markers
    assert marker.x == panel.x_ticks[2].at and marker.label == f"2{formatting.TIMES}"
    with pytest.raises(ValueError, match="magnitude"):
        history.history(frame, set(), points.drop(columns="magnitude"))
