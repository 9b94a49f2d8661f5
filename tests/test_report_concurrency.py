"""The report's concurrency section, from small hand-made frames."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from mapbench.reports import concurrency, render, timing, viewmodel

from mapbench._result_rows import Row
from mapbench.results import ResultSet, frame_of

ENV = {"python": "3.11.7", "gil_enabled": True, "switch_interval": 0.005}


def row(m: str, workload: str, metric: str, value: float, **fields: Any) -> Row:
    base: dict[str, Any] = {
        "source": "mapbench", "file": "metrics-3.11.json", "machine": "vm", "commit": "c0ffee",
        "commit_date": None, "python": "3.11.7", "env": "", "benchmark": workload, "map": m,
        "workload": workload, "size": 10000, "key_kind": "random-int", "params": "",
        "metric": metric, "unit": "s", "kind": "noisy", "value": value, "samples": (),
    }  # fmt: skip
    base.update(fields)
    return Row(**base)


def case(m: str, workload: str, time: float, **latency: float) -> list[Row]:
    rows = [row(m, workload, "time", time, samples=(time,) * 5)]
    return rows + [row(m, workload, f"latency_{k}", v) for k, v in latency.items()]


def frame() -> pd.DataFrame:
    return frame_of(
        [
            *case("syncmap", "concurrent-95-5", 1e-6, read_p99=2e-6, write_p50=3e-6),
            *case("rwlock", "concurrent-95-5", 2e-6, read_p99=5e-6, write_p50=3e-6),
            *case("syncmap", "concurrent-50-50", 4e-6, read_p99=3e-6),
            *case("rwlock", "concurrent-50-50", 2e-6, read_p99=4e-6),
            *case("syncmap", "long-writer-update", 1e-6, read_p99=2e-6, read_max=1e-4,
                  write_p50=5e-3),
            *case("rwlock", "long-writer-update", 1e-6, read_p99=2e-6, read_max=6e-3,
                  write_p50=5e-3),
            *case("locked", "long-writer-update", 1e-6, read_p99=2e-6, read_max=9e-2,
                  write_p50=5e-3),
            *case("dict", "insert", 1e-7),
        ]
    )  # fmt: skip


def view(f: pd.DataFrame) -> concurrency.ConcurrencyView:
    return concurrency.concurrency_view(f, timing.time_tables(f, "p10"), {"metrics-3.11.json": ENV})


def test_throughput_and_reader_p99_by_read_fraction() -> None:
    mixes, writer = view(frame()).sections
    assert mixes.title == (
        "Concurrent maps by read fraction · 4 threads · size 10,000 · random-int keys · "
        "Python 3.11.7"
    )
    assert mixes.table.groups == (("", 1), ("95/5 reads/writes", 2), ("50/50 reads/writes", 2))
    syncmap, rwlock = mixes.table.rows
    assert [c.text for c in syncmap] == ["syncmap", "1.00", "2 µs", "0.25", "3 µs"]
    assert [c.text for c in rwlock] == ["rwlock", "0.50", "5 µs", "0.50", "4 µs"]
    assert syncmap[1].css == "best" and rwlock[3].css == "best" and not rwlock[1].css
    assert writer.title.startswith("Readers beside a writer's bulk updates · 4 threads")
    assert [c.text for c in writer.table.rows[1]] == ["rwlock", "1.00", "2 µs", "6 ms", "5 ms"]


def test_findings_in_words() -> None:
    found = view(frame()).findings
    assert found is not None and found.title == "Concurrent maps"
    lines = ["".join(f.text for f in line) for line in found.lines]
    assert lines[0] == (
        "95/5 reads/writes, 4 threads: syncmap 1.00 Mops/s, rwlock 0.50 Mops/s; "
        "lowest reader p99: syncmap, 2 µs"
    )
    assert lines[1].startswith("50/50 reads/writes, 4 threads: rwlock 0.50 Mops/s, syncmap")
    assert lines[2].startswith("syncmap beside updates: no read took as long as the writer's hold")
    assert lines[3].startswith("rwlock beside updates: the longest read was about the writer")
    assert lines[4].startswith("locked beside updates: the longest read was far longer than")
    assert all(line[0].href.startswith("#concurrency-") for line in found.lines[2:])


def test_the_note_says_whether_the_gil_was_on() -> None:
    note = view(frame()).note
    assert "GIL on, switch interval 5 ms on Python 3.11.7" in note
    assert "one thread runs Python at a time" in note
    free = concurrency.gil_note({"f": {"python": "3.13.0", "gil_enabled": False}})
    assert free == "GIL off (free-threaded) on Python 3.13.0"
    assert concurrency.gil_note({"f": {"python": "3.10.13"}}).startswith("GIL state not recorded")


def test_no_concurrent_case_no_section() -> None:
    empty = concurrency.ConcurrencyView("", (), None)
    assert view(frame_of(case("dict", "insert", 1e-7))) == empty
    failed = [row("syncmap", "concurrent-95-5", "", math.nan, status="failed")]
    assert view(frame_of(failed)) == empty


def test_the_report_shows_the_section_and_the_read_write_table(tmp_path: Path) -> None:
    results = ResultSet(frame(), {"metrics-3.11.json": ENV}, [])
    built = viewmodel.build(results, None, "concurrency")
    html = render.render_html(results, tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="concurrency"' in html and "Readers beside a writer" in html
    assert any(t.title == "Concurrent maps" for t in built.findings)
    roles = next(s for s in built.themes if s.anchor == "latency-roles")
    p99 = roles.table.headers.index("read p99")
    assert len(roles.table.rows) == 7 and roles.table.rows[0][p99].text == "2 µs"
