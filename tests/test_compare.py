"""The statistics of a comparison: verdicts, unequal sample counts, FDR control, exact metrics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mapbench._result_rows import Row
from mapbench.compare import compare
from mapbench.errors import MapbenchError
from mapbench.results import ResultSet, _frame, combine, load, where
from mapbench.thresholds import Thresholds

RUNS = Path(__file__).parent / "fixtures" / "runs"


def side(commit: str, cases: dict[str, tuple[float, ...]], kind: str = "noisy") -> ResultSet:
    """A result set with one noisy time row per case (samples given), at one commit."""
    rows = [
        Row(
            source="pyperf",
            file=f"{commit}.json",
            machine="vm",
            commit=commit,
            commit_date=pd.NaT,
            python="3.12.1",
            env="",
            benchmark="lookup",
            map=name,
            workload="lookup",
            size=1000,
            key_kind="random-int",
            params="",
            metric="time",
            unit="seconds",
            kind=kind,
            value=float(np.median(samples)),
            samples=tuple(samples),
        )
        for name, samples in cases.items()
    ]
    return ResultSet(_frame(rows))


def noise(seed: int, n: int, scale: float = 1.0) -> tuple[float, ...]:
    """Timing-like samples: a floor plus right-skewed noise (never normal)."""
    rng = np.random.default_rng(seed)
    return tuple(scale * (1e-6 + rng.gamma(2.0, 0.02e-6, n)))


def verdict_of(base: tuple[float, ...], cand: tuple[float, ...], **kw: float) -> pd.Series:
    result = compare(side("a", {"m": base}), side("b", {"m": cand}), Thresholds(**kw))  # type: ignore[arg-type]
    return result.rows.iloc[0]


def test_identical_samples_no_change() -> None:
    samples = noise(1, 40)
    row = verdict_of(samples, samples)
    assert row["verdict"] == "no change"
    assert row["ratio"] == 1.0 and row["p_value"] == pytest.approx(1.0)


def test_ten_percent_shift_with_enough_samples_is_a_regression() -> None:
    row = verdict_of(noise(1, 50), noise(2, 50, scale=1.10))
    assert row["verdict"] == "regression"
    assert row["ratio"] == pytest.approx(1.10, abs=0.03)
    assert row["ci_low"] > 1.0 and row["q_value"] < 0.05


def test_ten_percent_faster_is_an_improvement() -> None:
    row = verdict_of(noise(1, 50), noise(2, 50, scale=0.90))
    assert row["verdict"] == "improvement" and row["ci_high"] < 1.0


@pytest.mark.parametrize(("n_base", "n_cand"), [(80, 20), (15, 90), (7, 200)])
def test_unequal_sample_counts(n_base: int, n_cand: int) -> None:
    same = verdict_of(noise(3, n_base), noise(4, n_cand))
    assert same["verdict"] in ("no change", "inconclusive")  # never "significant" by count alone
    assert (same["base_n"], same["candidate_n"]) == (n_base, n_cand)
    slower = verdict_of(noise(3, n_base), noise(4, n_cand, scale=1.25))
    assert slower["verdict"] == "regression"


def test_too_few_samples_is_inconclusive() -> None:
    row = verdict_of(noise(1, 3), noise(2, 3, scale=1.5))
    assert row["verdict"] == "inconclusive" and "too few processes" in row["note"]


def test_small_real_change_below_minimum_effect_is_no_change() -> None:
    row = verdict_of(noise(1, 400), noise(2, 400, scale=1.02))
    assert row["verdict"] == "no change"
    assert (
        verdict_of(noise(1, 400), noise(2, 400, scale=1.02), min_effect=0.01)["verdict"]
        == "regression"
    )


def test_benjamini_hochberg_across_rows() -> None:
    """200 unchanged cases and 10 slowed ones: discoveries are (about) the 10, q = BH(p)."""
    base = {f"same{i}": noise(i, 30) for i in range(200)}
    cand = {f"same{i}": noise(1000 + i, 30) for i in range(200)}
    for i in range(10):
        base[f"slow{i}"] = noise(5000 + i, 30)
        cand[f"slow{i}"] = noise(6000 + i, 30, scale=1.3)
    rows = compare(side("a", base), side("b", cand)).rows
    assert np.allclose(rows["q_value"], stats.false_discovery_control(rows["p_value"]))
    flagged = set(rows.loc[rows["verdict"] == "regression", "map"])
    assert {f"slow{i}" for i in range(10)} <= flagged
    false = flagged - {f"slow{i}" for i in range(10)}
    assert len(false) <= 2  # FDR 0.05 over ~10 discoveries


def test_deterministic_metrics_compared_exactly() -> None:
    base = side("a", {"same": (1.5,), "worse": (1.5,), "better": (2.0,)}, kind="deterministic")
    cand = side("b", {"same": (1.5,), "worse": (1.5000001,), "better": (1.9,)}, "deterministic")
    rows = compare(base, cand).rows.set_index("map")
    assert rows.loc["same", "verdict"] == "no change"
    assert rows.loc["worse", "verdict"] == "regression"
    assert rows.loc["better", "verdict"] == "improvement"
    assert math.isnan(rows.loc["worse", "p_value"])


def test_deterministic_zero_counts() -> None:
    base = side("a", {"zero": (0.0,), "appears": (0.0,)}, kind="deterministic")
    cand = side("b", {"zero": (0.0,), "appears": (3.0,)}, kind="deterministic")
    rows = compare(base, cand).rows.set_index("map")
    assert rows.loc["zero", "verdict"] == "no change"
    assert rows.loc["appears", "verdict"] == "regression"
    assert rows.loc["appears", "ratio"] == math.inf


def test_exit_status_and_axis() -> None:
    result = compare(side("a", {"m": noise(1, 50)}), side("b", {"m": noise(2, 50, 1.2)}))
    assert result.exit_status == 1 and "commit" in result.axis
    fine = compare(side("a", {"m": noise(1, 50)}), side("b", {"m": noise(1, 50)}))
    assert fine.exit_status == 0


def test_fixture_directories_compare() -> None:
    result = compare(load([RUNS / "base"]), load([RUNS / "candidate"]))
    rows = result.rows
    toy = rows[
        (rows["map"] == "toy-double") & (rows["metric"] == "capacity") & (rows["size"] == 10000)
    ]
    assert not toy.empty and (toy["verdict"] != "no change").all()  # it grows later: exact change
    assert len(result.only_base) == 0 and len(result.only_candidate) == 0


def test_python_selectors_compare_across_versions() -> None:
    runs = load([RUNS / "base"])
    result = compare(where(runs, {"python": "3.10"}), where(runs, {"python": "3.13"}))
    assert "python" in result.axis and len(result.rows) > 0


def test_sides_with_nothing_in_common_are_refused() -> None:
    base, cand = load([RUNS / "base"]), load([RUNS / "candidate"])
    newer = combine([where(cand, {"python": "3.12"}), where(cand, {"python": "3.13"})])
    with pytest.raises(MapbenchError, match="none in common"):
        compare(where(base, {"python": "3.10"}), newer)


def test_bad_thresholds() -> None:
    with pytest.raises(MapbenchError, match="statistic"):
        Thresholds(statistic="mean")


def test_instruction_counts_have_their_own_tolerance() -> None:
    def one(value: float) -> ResultSet:
        frame = side("a", {"m": (value,)}, kind="deterministic").frame.assign(
            unit="instructions/op", metric="instructions"
        )
        return ResultSet(frame)

    jitter = compare(one(529.015), one(528.7625)).rows.iloc[0]
    assert jitter["verdict"] == "no change"
    real = compare(one(529.0), one(529.0 * 1.01)).rows.iloc[0]
    assert real["verdict"] == "regression"
    strict = compare(one(529.015), one(528.7625), Thresholds(instruction_tolerance=0)).rows
    assert strict.iloc[0]["verdict"] == "improvement"
