"""Change points: exact ones where a deterministic value changes, kernel ones in noisy series
(seeded synthetic series), one time series per machine, commit order from positions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_history_cli import _history

from mapbench.history import COLUMNS, change_points
from mapbench.history.changepoints import detect_noisy
from mapbench.results import load

REQUIRED = [
    "map", "workload", "key_kind", "size", "metric", "commit", "commit_before", "magnitude",
    "low", "high",
]  # fmt: skip


def _points(values: Any, metric: str = "time", machine: str = "m", **extra: Any) -> pd.DataFrame:
    """One point per commit c0001, c0002, ... dated a day apart."""
    n = len(values)
    kind = "noisy" if metric == "time" else "deterministic"
    return pd.DataFrame(
        {
            "source": "mapbench",
            "machine": machine,
            "commit": [f"c{i + 1:04d}" for i in range(n)],
            "commit_date": pd.date_range("2026-01-01", periods=n, freq="D", tz="UTC"),
            "python": "3.12.1",
            "benchmark": "lookup-hit",
            "map": "dict",
            "workload": "lookup-hit",
            "key_kind": "random-int",
            "size": pd.array([1000] * n, dtype="Int64"),
            "params": "",
            "metric": metric,
            "unit": "s" if metric == "time" else "probes",
            "kind": kind,
            "point": np.asarray(values, dtype=float),
            **extra,
        }
    )


def _noise(n: int, seed: int) -> np.ndarray:
    return 1e-6 * np.exp(np.random.default_rng(seed).normal(0, 0.03, n))


def test_the_frame_has_the_columns_the_history_charts_read() -> None:
    found = change_points(_points([1.0, 1.0, 2.0], metric="probe_hit_mean"))
    assert list(found.columns[: len(REQUIRED)]) == REQUIRED
    assert list(found.columns) == list(COLUMNS)
    assert list(change_points(pd.DataFrame()).columns) == list(COLUMNS)


def test_a_deterministic_metric_changes_exactly_where_its_value_does() -> None:
    found = change_points(_points([1.5] * 5 + [1.8] * 4 + [1.5] * 3, metric="probe_hit_mean"))
    assert found["commit"].tolist() == ["c0006", "c0010"]
    assert found["commit_before"].tolist() == ["c0005", "c0009"]
    assert found["magnitude"].tolist() == pytest.approx([1.2, 1.5 / 1.8])
    assert (found["low"] == found["magnitude"]).all() and (
        found["high"] == found["magnitude"]
    ).all()
    assert set(found["method"]) == {"exact"}


@pytest.mark.parametrize("seed", range(5))
def test_a_noisy_step_is_found_at_its_commit_with_an_interval(seed: int) -> None:
    values = _noise(40, seed)
    values[17:] *= 1.3
    found = change_points(_points(values))
    assert found["commit"].tolist() == ["c0018"]
    row = found.iloc[0]
    assert row["low"] < row["magnitude"] < row["high"]
    assert row["low"] > 1.2 and row["high"] < 1.4
    assert row["method"] == "kernel" and row["machine"] == "m"


@pytest.mark.parametrize("seed", range(5))
def test_flat_noise_has_no_change_point(seed: int) -> None:
    assert change_points(_points(_noise(60, 100 + seed))).empty


def test_long_series_are_searched_in_windows_and_keep_every_change() -> None:
    values = _noise(700, 7)
    values[200:] *= 1.25
    values[450:] *= 0.7
    assert [i for i, *_ in detect_noisy(values)] == [200, 450]


def test_time_is_one_series_per_machine_unless_pooled() -> None:
    # Two machines take turns commit by commit; machine b is 1.5x slower throughout.
    n = 30
    fast, slow = _noise(n, 1), 1.5 * _noise(n, 2)
    values = np.where(np.arange(n) % 2 == 0, fast, slow)
    machines = np.where(np.arange(n) % 2 == 0, "a", "b")
    points = _points(values).assign(machine=machines)
    assert change_points(points).empty
    # Pooled, the alternation is all there is to see: nothing consistent, or a false change.
    probes = _points(np.full(n, 1.5), metric="probe_hit_mean").assign(machine=machines)
    probes.loc[20:, "point"] = 1.6  # the same exact metric on both machines: one series
    found = change_points(probes)
    assert found["commit"].tolist() == ["c0021"] and found["machine"].tolist() == [""]


def test_commit_order_comes_from_first_parent_positions_over_dates() -> None:
    points = _points([1.0, 1.0, 1.0, 2.0], metric="probe_hit_mean")
    # git says c0004 came second (dates say last): the value changes twice in that order.
    commits = pd.DataFrame(
        {
            "commit": ["c0001", "c0004", "c0002", "c0003"],
            "commit_date": pd.NaT,
            "position": pd.array([0, 1, 2, 3], dtype="Int64"),
        }
    )
    found = change_points(points, commits)
    assert found["commit"].tolist() == ["c0004", "c0002"]
    assert found["commits_between"].tolist() == [1, 1]


def test_runs_of_one_commit_are_pooled_and_disagreement_noted() -> None:
    points = _points([1.0, 1.0, 2.0], metric="probe_hit_mean")
    extra = points.iloc[[2]].assign(point=3.0, machine="other")
    found = change_points(pd.concat([points, extra], ignore_index=True))
    assert found["magnitude"].tolist() == [2.5]  # the median of 2 and 3
    assert "differs between runs" in found.iloc[0]["note"]


def test_a_tidy_result_frame_is_taken_as_it_is(tmp_path: Path) -> None:
    frame = load([_history(tmp_path, commits=6, step_at=4)]).frame
    found = change_points(frame)
    assert found[["map", "metric", "commit"]].values.tolist() == [
        ["c-linear", "probe_hit_mean", f"{4:040x}"]
    ]
