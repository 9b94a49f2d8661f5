"""The report shows allocations per operation of C maps next to dict's, and spikes by cause."""

from __future__ import annotations

from mapbench.reports import tables, viewmodel
from test_report_tables import row

from mapbench.results import frame_of


def test_allocations_per_op_of_c_maps_sit_next_to_dicts() -> None:
    per_op = {"dict": (1.0, 0.0), "c-linear": (16.0, 0.00004)}
    frame = frame_of([
        row("insert", metric, values[i], map=m, unit="alloc/op")
        for m, values in per_op.items()
        for i, metric in enumerate(("alloc_python_calls_per_op", "alloc_native_calls_per_op"))
    ])  # fmt: skip
    (section,), _ = tables.topic_sections(frame, viewmodel.TOPIC_TABLES, {})
    assert section.anchor == "allocations-per-op"
    assert section.table.headers[-2:] == ("Python calls", "native calls")
    cells = {r[0].text: [c.text for c in r[2:]] for r in section.table.rows}
    assert cells == {"dict": ["1", "0"], "c-linear": ["16", "4e-05"]}


def test_spikes_are_counted_by_cause() -> None:
    causes = {"latency_spikes": 9, "latency_spikes_resize": 7, "latency_spikes_gc": 0,
              "latency_spikes_preempted": 1, "latency_spikes_page_faults": 5,
              "latency_spikes_unexplained": 2}  # fmt: skip
    frame = frame_of(
        [row("insert", m, v, map="mmap", unit="ops", kind="noisy") for m, v in causes.items()]
    )
    sections = {s.anchor: s for s in tables.topic_sections(frame, viewmodel.TOPIC_TABLES, {})[0]}
    spikes = sections["spikes"]
    assert spikes.table.headers[2:] == (
        "spikes",
        "resize",
        "GC",
        "preempted",
        "page faults",
        "other",
    )
    assert [c.text for c in spikes.table.rows[0][2:]] == ["9", "7", "0", "1", "5", "2"]
