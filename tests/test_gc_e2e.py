"""GC pauses that show something, end to end: `mapbench measure` on the write-heavy workload, and
the report's GC section built from measured results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mapbench.schema import CaseResult, decode


def _measure(*args: str) -> CaseResult:
    done = subprocess.run(
        [sys.executable, "-m", "mapbench", "measure", *args, "--collector", "gc", "--repeat", "0",
         "--json"],
        capture_output=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    [result] = decode(done.stdout).results
    return result


def test_records_make_full_collections_and_ints_none() -> None:
    case = ("dict", "--workload", "write-heavy", "--size", "100000")
    records = {m.name: m for m in _measure(*case, "--value-kind", "record").metrics}
    ints = {m.name: m for m in _measure(*case, "--value-kind", "int").metrics}
    assert records["gc_collections_gen2"].value > 0
    pauses = [records[f"gc_pause_{p}"].value for p in ("p50", "p90", "p99", "max")]
    assert 0 < pauses[0] <= pauses[1] <= pauses[2] <= pauses[3]  # a distribution, not one figure
    assert 0 < records["gc_pause_max_gen2"].value <= records["gc_pause_max"].value
    # Each full collection examined the map's 100,000 records.
    assert records["gc_examined_objects"].value >= 100_000 * records["gc_collections_gen2"].value
    assert ints["gc_collections_gen2"].value == 0 and ints["gc_pause_max_gen2"].value == 0
    assert ints["gc_collections_gen0"].value > 0  # the requests' garbage is still collected
    assert "objects frozen" in records["gc_pause_max"].note


def test_bytes_only_maps_say_how_they_store_the_values() -> None:
    result = _measure("c-swiss", "--workload", "write-heavy", "--size", "1000", "--value-kind",
                      "json")  # fmt: skip
    assert result.params == {"value_form": "json-bytes"}
    assert result.value_kind == "json"


def test_an_unknown_value_kind_is_bad_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mapbench", "measure", "dict", "--value-kind", "nope"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "nope" in done.stderr


@pytest.mark.slow
def test_the_report_shows_pause_against_size_and_says_what_it_found(tmp_path: Path) -> None:
    for spec in ("dict", "c-swiss"):
        for size in ("2000", "20000"):
            done = subprocess.run(
                [sys.executable, "-m", "mapbench", "measure", spec, "--workload", "write-heavy",
                 "--value-kind", "record", "--size", size, "--collector", "gc", "--repeat", "0",
                 "--json"],
                capture_output=True, check=True, timeout=600,
            )  # fmt: skip
            (tmp_path / f"metrics-{spec}-{size}.json").write_bytes(done.stdout)
    out = tmp_path / "report.html"
    subprocess.run(
        [sys.executable, "-m", "mapbench", "report", str(tmp_path), "-o", str(out)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    html = out.read_text(encoding="utf-8")
    assert "write-heavy: longest GC pause against map size" in html
    assert "value_form=json-bytes" in html  # the C map's line says it holds bytes
    assert "write-heavy, 20,000 entries, record values" in html  # the finding
    assert "no full collection" in html  # c-swiss, with the same data
