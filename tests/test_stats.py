"""The noisy-metric statistic: per-process values, the Mann-Whitney test and its shift interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mapbench.stats import EXACT_PAIRS, median_interval, per_process, rate_interval, shift


def test_each_process_gives_one_number() -> None:
    samples = [3.0, 1.0, 2.0, 9.0, 8.0, 7.0, 6.0]
    assert per_process(samples, (3, 4), 0.0).tolist() == [1.0, 6.0]
    assert per_process(samples, (3, 4), 50.0).tolist() == [2.0, 7.5]
    assert per_process(samples, (), 0.0).tolist() == samples  # no groups: a process per sample
    equal = [3.0, 1.0, 2.0, 9.0, 8.0, 7.0]  # equal groups take one vectorised percentile
    assert per_process(equal, (3, 3), 10.0).tolist() == [
        float(np.percentile(equal[:3], 10.0)),
        float(np.percentile(equal[3:], 10.0)),
    ]
    with pytest.raises(ValueError, match="do not split"):
        per_process(samples, (3, 3), 0.0)


@pytest.mark.parametrize(("m", "n"), [(4, 4), (5, 7), (10, 10), (6, 20), (20, 30)])
def test_exact_p_values_are_scipys(m: int, n: int) -> None:
    rng = np.random.default_rng(m * 100 + n)
    for _ in range(20):
        a, b = np.exp(rng.normal(0, 1, m)), np.exp(rng.normal(rng.normal(0, 1), 1, n))
        expected = stats.mannwhitneyu(np.log(b), np.log(a), method="exact").pvalue
        assert shift(a, b).p_value == pytest.approx(expected, rel=1e-9)


def test_large_samples_use_the_normal_limit() -> None:
    rng = np.random.default_rng(1)
    a, b = np.exp(rng.normal(0, 1, 60)), np.exp(rng.normal(0.3, 1, 70))
    assert EXACT_PAIRS < 60 * 70
    expected = stats.mannwhitneyu(np.log(b), np.log(a), method="asymptotic").pvalue
    assert shift(a, b).p_value == pytest.approx(expected, rel=1e-9)


def test_the_estimate_is_the_median_pairwise_ratio_and_scale_free() -> None:
    a, b = [1.0, 2.0, 4.0], [2.0, 4.0, 8.0, 16.0]
    logs = [math.log(y / x) for x in a for y in b]
    assert shift(a, b).estimate == pytest.approx(math.exp(float(np.median(logs))))
    scaled = shift([x * 1e-9 for x in a], [y * 1e-9 for y in b])
    assert scaled.estimate == pytest.approx(shift(a, b).estimate)
    assert scaled.interval(0.2) == pytest.approx(shift(a, b).interval(0.2))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(0.5, 2.0), min_size=2, max_size=40),
    st.lists(st.floats(0.5, 2.0), min_size=2, max_size=40),
    st.sampled_from([0.2, 0.05, 0.01, 0.001, 0.05 / 60]),
)
def test_the_interval_excludes_no_change_exactly_when_the_test_rejects(
    a: list[float], b: list[float], alpha: float
) -> None:
    """The property the verdict rests on: one statistic for the p-value and the interval."""
    s = shift(a, b)
    low, high = s.interval(alpha)
    assert (s.p_value <= alpha) == (low > 1 or high < 1)
    assert low <= s.estimate <= high or (low == 0 and math.isinf(high))


def test_no_level_reachable_with_too_few_processes() -> None:
    s = shift([1.0, 1.1, 1.2], [2.0, 2.1, 2.2])  # 3 vs 3: the smallest two-sided p is 0.1
    assert s.p_value == pytest.approx(0.1)
    assert s.interval(0.05) == (0.0, math.inf)


def test_false_alarms_at_the_nominal_rate_and_true_ratio_covered() -> None:
    """Calibration by simulation: per-process values drawn from one skewed distribution
    (timing-like, never normal) are flagged at about alpha; with a true 5% shift, the 95%
    interval covers 1.05 about 95% of the time."""
    rng = np.random.default_rng(7)
    trials, n = 1000, 10
    base = 1 + rng.gamma(2.0, 0.03, (trials, 2, n))
    flagged = covered = 0
    for a, b in base:
        flagged += shift(a, b).p_value <= 0.05
        low, high = shift(a, b * 1.05).interval(0.05)
        covered += low <= 1.05 <= high
    assert 0.025 < flagged / trials < 0.075
    assert 0.92 < covered / trials < 0.98


def test_median_interval_is_the_order_statistics_binomial_tails_pick() -> None:
    # n = 10 at 95%: the 2nd smallest and 2nd largest (coverage 1 - 2 * 11/1024 = 97.9%).
    found = median_interval(range(1, 11), 0.95)
    assert (found.low, found.high, found.median, found.n) == (2.0, 9.0, 5.5, 10)
    few = median_interval([1.0, 2.0, 3.0], 0.95)  # 3 values cover the median at 75% at most
    assert math.isnan(few.low) and math.isnan(few.high) and few.median == 2.0
    assert median_interval([], 0.95).n == 0


def test_median_interval_covers_at_its_level() -> None:
    rng = np.random.default_rng(7)
    n, trials = 12, 4000
    covered = 0
    for _ in range(trials):
        found = median_interval(rng.lognormal(0.0, 0.5, n), 0.9)  # true median: 1
        covered += found.low <= 1.0 <= found.high
    assert covered / trials >= 0.9 - 0.015


def test_rate_interval_is_the_exact_binomial_one() -> None:
    # None in n: the upper end solves (1 - p)^n = alpha / 2; all in n, mirrored.
    low, high = rate_interval(0, 100, 0.95)
    assert low == 0 and high == pytest.approx(1 - 0.025 ** (1 / 100), rel=1e-9)
    low, high = rate_interval(20, 20, 0.95)
    assert high == 1 and low == pytest.approx(0.025 ** (1 / 20), rel=1e-9)
    low, high = rate_interval(1, 100, 0.95)
    assert 0 < low < 0.01 < high < 0.06
    with pytest.raises(ValueError):
        rate_interval(3, 2, 0.95)
