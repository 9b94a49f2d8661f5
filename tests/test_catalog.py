"""The metric catalog is the one definition of every metric: docs, units and kinds follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapbench.catalog import CATALOG, info, measurement, reference_table, title

DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def test_docs_list_every_metric_as_the_catalog_defines_it() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert reference_table() in text, (
        "docs/metrics.md is out of date: paste the output of "
        "`python -c 'from mapbench.catalog import reference_table as t; print(t())'`"
    )


def test_every_metric_has_a_title_unit_source_and_gc_policy() -> None:
    for name, m in CATALOG.items():
        assert m.title and m.title[0].isupper(), name
        assert m.unit, f"{name} has no unit"
        assert m.kind in ("noisy", "deterministic"), name
        assert m.gc in ("on", "off", ""), name
        assert m.description, name


def test_measurements_take_unit_kind_and_gc_from_the_catalog() -> None:
    m = measurement("alloc_net_bytes", 88)
    assert (m.unit, m.kind, m.gc, m.loop) == ("B", "deterministic", "off", "mapbench")
    assert measurement("probe_hit_mean", 1.5, kind="modelled").kind == "modelled"
    assert measurement("time", 1e-7, loop="pyperf").loop == "pyperf"
    with pytest.raises(KeyError, match="not in the catalog"):
        measurement("made_up_metric", 1)


def test_table_statistics_of_a_map_get_a_generic_entry() -> None:
    assert info("probe_shard_imbalance").kind == "deterministic"
    assert title("probe_shard_imbalance") == "Table: shard imbalance"
    assert title("blocks_per_entry") == "Blocks per entry"  # another tool's metric: its words
