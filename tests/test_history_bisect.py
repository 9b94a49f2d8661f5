"""How `mapbench bisect` judges one tested commit against GOOD (the search itself runs end to end
in test_history_e2e.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mapbench.case import CaseId
from mapbench.history.bisect import BisectOptions, BisectStopped, _Search


def _search(noisy: bool) -> _Search:
    options = BisectOptions(
        Path("."), "good", "bad", (CaseId("dict", "insert", "random-int", 1000),),
        "time" if noisy else "probe_hit_mean", Path("work"), Path("out"),
    )  # fmt: skip
    return _Search(options, noisy, lambda _: None)


def _row(verdict: str, ratio: float, kind: str = "noisy") -> dict[str, Any]:
    return {
        "map": "dict", "workload": "insert", "key_kind": "random-int", "size": 1000,
        "unit": "s" if kind == "noisy" else "probes", "kind": kind, "base": 1e-6,
        "candidate": ratio * 1e-6, "ratio": ratio, "ci_low": ratio * 0.95,
        "ci_high": ratio * 1.05, "q_value": 0.001, "verdict": verdict,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("verdict", "bad"), [("regression", True), ("no change", False), ("improvement", False)]
)
def test_time_is_bad_only_when_it_regressed(verdict: str, bad: bool) -> None:
    step = _search(noisy=True)._judge("c" * 40, "subject", [_row(verdict, 1.5)])
    assert step.bad is bad
    assert "dict/insert/random-int/1000" in step.evidence[0] and verdict in step.evidence[0]


def test_an_inconclusive_time_verdict_stops_the_search() -> None:
    with pytest.raises(BisectStopped, match="too noisy to judge cccccccccccc"):
        _search(noisy=True)._judge("c" * 40, "subject", [_row("inconclusive", 1.2)])


@pytest.mark.parametrize(
    ("verdict", "bad"), [("regression", True), ("improvement", True), ("no change", False)]
)
def test_an_exact_metric_is_bad_when_it_changed_at_all(verdict: str, bad: bool) -> None:
    row = _row(verdict, 1.2, kind="deterministic")
    step = _search(noisy=False)._judge("c" * 40, "subject", [row])
    assert step.bad is bad and "probes" in step.evidence[0]
