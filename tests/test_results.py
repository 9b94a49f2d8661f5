"""Loading asv, pyperf and mapbench metrics files into the tidy frame, and damaged input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyperf
import pytest

from mapbench.errors import MapbenchError
from mapbench.results import COLUMNS, combine, load, parse_selector, where

FIXTURES = Path(__file__).parent / "fixtures"
ASV = FIXTURES / "asv" / "results"
RUNS = FIXTURES / "runs"
DAMAGED = FIXTURES / "damaged"


def test_asv_results_every_commit_and_parameter_combination() -> None:
    results = load([ASV])
    frame = results.frame
    assert results.problems == ()
    assert list(frame.columns) == list(COLUMNS)
    assert set(frame["source"]) == {"asv"}
    assert frame["commit"].nunique() == 4
    assert frame["commit_date"].notna().all()
    assert set(frame["metric"]) == {"time", "peakmemory", "blocks_per_entry"}
    # 2 maps x 2 sizes x 2 key kinds, 3 benchmarks, 4 commits
    assert len(frame) == 8 * 3 * 4
    time = frame[frame["metric"] == "time"]
    assert (time["unit"] == "s").all() and (time["kind"] == "noisy").all()
    assert (time["loop"] == "asv").all() and (time["gc"] == "off").all()
    assert (time["n_samples"] == 12).all()  # --record-samples with repeat = 12
    assert set(time["size"]) == {1000, 10000}
    assert set(time["key_kind"]) == {"random-int", "short-str"}
    blocks = frame[frame["metric"] == "blocks_per_entry"]
    # not a mapbench metric, so not proven deterministic: asv's track_ values count as noisy
    assert (blocks["kind"] == "noisy").all() and (blocks["unit"] == "blocks").all()


def test_asv_value_is_asvs_own_result() -> None:
    frame = load([ASV]).frame
    row = frame[frame["metric"] == "time"].iloc[0]
    data = json.loads(Path(row["file"]).read_text())
    assert row["value"] in data["results"][row["benchmark"]][0]


def test_pyperf_files_load_through_pyperf_with_the_runs_environment() -> None:
    results = load([RUNS / "base"])
    pyperf_rows = results.frame[results.frame["source"] == "pyperf"]
    timed = pyperf_rows[pyperf_rows["metric"] == "time"]
    suite = pyperf.BenchmarkSuite.load(str(next((RUNS / "base").glob("pyperf-*.json"))))
    assert len(timed) == len(suite.get_benchmarks())
    # each pyperf run is a worker process: its values are grouped, its load average recorded
    loads = pyperf_rows[pyperf_rows["metric"] == "load_average"]
    assert len(loads) == len(timed)
    bench = suite.get_benchmarks()[0]
    row = timed[timed["map"] + "/" + timed["workload"] == "/".join(bench.get_name().split("/")[:2])]
    row = row[row["size"] == int(bench.get_name().split("/")[3])].iloc[0]
    assert row["samples"] == tuple(bench.get_values())
    assert row["groups"] == tuple(len(run.values) for run in bench.get_runs() if run.values)
    assert row["unit"] == "s" and row["metric"] == "time"
    assert row["commit"]  # from the metrics file written next to it by the same run


def test_metrics_files_every_python_and_failures_kept() -> None:
    frame = load([RUNS / "base"]).frame
    metrics = frame[frame["source"] == "mapbench"]
    assert set(metrics["python"]) == {"3.10.13", "3.11.7", "3.12.1", "3.13.0"}
    failed = metrics[metrics["status"] == "failed"]
    assert len(failed) == 4 and failed["error"].str.contains("RuntimeError").all()
    histogram = metrics[metrics["metric"] == "probe_hit_histogram"].iloc[0]
    assert histogram["kind"] == "deterministic" and sum(histogram["samples"]) == histogram["size"]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("truncated-pyperf.json", "not valid JSON"),
        ("wrong-schema.json", "Expected `array`, got `str` - at `$.results`"),
        ("missing-fields.json", "missing required field `map` - at `$.results[0]`"),
        ("unknown-version.json", "version 99 is not supported"),
        ("asv-version-1.json", "asv results format version 1 is not supported"),
        ("not-results.json", "not a recognised results file"),
    ],
)
def test_each_damaged_file_is_named_with_the_reason(name: str, why: str) -> None:
    results = load([DAMAGED / name])
    assert len(results.problems) == 1
    problem = results.problems[0]
    assert problem.path.endswith(name) and why in problem.reason


def test_partial_file_keeps_its_good_results() -> None:
    results = load([DAMAGED / "missing-fields.json"])
    good = json.loads((DAMAGED / "missing-fields.json").read_text())["results"][1:]
    assert results.frame["map"].isin({r["map"] for r in good}).all()
    assert len(results.frame) > 0


def test_mixed_directory_loads_the_good_files() -> None:
    results = load([DAMAGED / "mixed"])
    assert [Path(p.path).name for p in results.problems] == ["metrics-9.9.9.json"]
    assert set(results.frame["source"]) == {"pyperf", "mapbench"}


def test_missing_benchmarks_json_is_reported_and_guessed(tmp_path: Path) -> None:
    shutil.copytree(ASV, tmp_path / "results")
    (tmp_path / "results" / "benchmarks.json").unlink()
    results = load([tmp_path / "results"])
    assert len(results.problems) == 1 and "benchmarks.json" in results.problems[0].path
    assert set(results.frame["metric"]) == {"time", "peakmemory", "blocks_per_entry"}
    assert results.frame["params"].str.startswith("param").all()


def test_empty_input_still_has_every_column(tmp_path: Path) -> None:
    frame = load([tmp_path]).frame
    assert frame.empty and list(frame.columns) == list(COLUMNS)


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MapbenchError, match="no such results"):
        load([tmp_path / "nope"])


def test_selectors() -> None:
    results = combine([load([RUNS / "base"]), load([ASV])])
    assert set(where(results, parse_selector("python=3.12")).frame["python"]) == {"3.12.1"}
    commit = results.frame[results.frame["source"] == "asv"]["commit"].iloc[0]
    picked = where(results, parse_selector(f"commit={commit[:7].upper()},map=dict")).frame
    assert set(picked["commit"]) == {commit} and set(picked["map"]) == {"dict"}
    assert set(where(results, {"size": "1000"}).frame["size"]) == {1000}
    with pytest.raises(MapbenchError, match="bad selector"):
        parse_selector("colour=blue")


def test_frame_dtypes() -> None:
    frame = load([ASV, RUNS]).frame
    assert isinstance(frame["commit_date"].dtype, pd.DatetimeTZDtype)
    assert str(frame["size"].dtype) == "Int64"
    assert frame["value"].dtype == "float64" and frame["n_samples"].dtype == "int64"


def test_pyperf_names_with_a_path_label_split_from_the_right() -> None:
    from mapbench._pyperf_results import _name_columns

    columns = _name_columns("/home/u/maps/lru.py:LRU/lookup-hit/short-str/1000", {})
    assert columns["map"] == "/home/u/maps/lru.py:LRU"
    assert (columns["workload"], columns["key_kind"], columns["size"]) == (
        "lookup-hit",
        "short-str",
        1000,
    )
