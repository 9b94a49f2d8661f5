"""Second opinions: a flagged time row must be confirmed by fresh rounds; a too-noisy one gets
the verdict of its instruction counts, labelled, or says what was tried."""

from __future__ import annotations

import re
import sys

import pytest
from test_compare import processes, runs_of

from mapbench.case import CaseId
from mapbench.ci import instructions, second_opinion
from mapbench.ci.interleave import Runner, Side, SideRuns
from mapbench.ci.sensitivity import LABEL, SPEC
from mapbench.compare import Comparison, compare

CASE = CaseId("m", "lookup-hit", "random-int", 1000)  # the case `processes` writes
SIDES = (Side("base", sys.executable), Side("head", sys.executable))


def _too_noisy() -> Comparison:
    modes = runs_of(1, 6) + runs_of(2, 4, 2.0)
    found = compare(processes("a", {"time": modes}), processes("b", {"time": runs_of(3, 10)}))
    assert found.rows.iloc[0]["verdict"] == "too noisy"
    return found


def _answer(comparison: Comparison, counts: dict[str, float]) -> dict[str, str]:
    def count(runner: Runner, side: Side) -> float:
        assert runner.cases == [CASE]
        return counts[side.name]

    answered = second_opinion.answer_too_noisy(
        comparison, SIDES, [CASE], rounds=10, timeout=60, progress=lambda _: None, count=count
    )
    return dict(answered.rows.iloc[0][["verdict", "note"]])


def test_a_too_noisy_row_gets_the_verdict_of_its_instruction_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(instructions, "available", lambda: True)
    slower = _answer(_too_noisy(), {"base": 1000.0, "head": 1150.0})
    assert slower["verdict"] == "regression"
    assert slower["note"].startswith("judged on instructions (callgrind), not time: 1,000 -> ")
    assert second_opinion.INSTRUCTION_CAVEAT in slower["note"]
    assert "time was too noisy: base splits into 2 modes" in slower["note"]
    same = _answer(_too_noisy(), {"base": 1000.0, "head": 1001.0})
    assert same["verdict"] == "no change"


def test_too_noisy_stays_where_nothing_decides_and_says_what_was_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(instructions, "available", lambda: False)
    kept = _answer(_too_noisy(), {})
    assert kept["verdict"] == "too noisy"
    assert "tried: 10 interleaved rounds; instruction counts: no valgrind" in kept["note"]


def _slowmap(extra: float) -> tuple[Side, Side]:
    return (
        Side("base", sys.executable, specs={LABEL: SPEC}),
        Side("head", sys.executable, specs={LABEL: f"{SPEC},extra={extra!r}"}),
    )


def _flagged(case: CaseId) -> Comparison:
    """A comparison whose time row for `case` reads "regression" (set by hand: the question
    is only what fresh rounds say)."""
    found = compare(
        processes("a", {"time": runs_of(1, 10)}), processes("b", {"time": runs_of(2, 10, 1.5)})
    )
    rows = found.rows.assign(map=case.map, workload=case.workload, size=case.size)
    assert rows.iloc[0]["verdict"] == "regression"
    return Comparison(rows, found.axis, "base", "head", found.thresholds)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "verdicts"), [(0.0, ("inconclusive", "too noisy")), (60.0, ("regression",))]
)
def test_a_flagged_time_row_fails_only_if_fresh_rounds_agree(
    extra: float, verdicts: tuple[str, ...]
) -> None:
    """Identical code is never confirmed (the fresh rounds find no change, or cannot tell);
    a real +60% is."""
    case = CaseId(LABEL, "lookup-hit", "random-int", 1000)
    confirmed = second_opinion.confirm(
        _flagged(case), _slowmap(extra), [case], rounds=8, reps=5, timeout=120,
        progress=lambda _: None,
    )  # fmt: skip
    row = confirmed.rows.iloc[0]
    assert row["verdict"] in verdicts, row["note"]
    said = "" if extra else "not "
    read = r"8( \+ 8)? fresh interleaved rounds read"  # 8 more where the interval was wide
    assert re.search(rf"(^|; ){said}confirmed: {read}", row["note"])


def test_fresh_rounds_too_noisy_to_confirm_make_the_row_too_noisy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Then the instruction counts decide, not the first, unconfirmed reading."""
    fresh = _too_noisy()
    nothing = lambda *a, **k: (SideRuns(SIDES[0]), SideRuns(SIDES[1]))  # noqa: E731
    monkeypatch.setattr(second_opinion, "run_interleaved", nothing)
    monkeypatch.setattr(second_opinion, "look", lambda *a, **k: fresh)
    confirmed = second_opinion.confirm(
        _flagged(CASE), SIDES, [CASE], rounds=10, reps=5, timeout=60, progress=lambda _: None
    )
    row = confirmed.rows.iloc[0]
    assert row["verdict"] == "too noisy"
    assert row["note"].startswith("not confirmed: 10 fresh interleaved rounds read ")
    assert "base splits into 2 modes" in row["note"]


def test_more_rounds_go_to_wide_intervals_whatever_their_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A too-noisy row and a regression whose interval is as wide both get as many rounds
    again, added to their processes; a tight row gets none (the rule reads widths only)."""
    tight, noisy, flagged = (CaseId(m, "lookup-hit", "random-int", 1000) for m in "tnf")
    found = compare(
        processes("a", {"time": runs_of(1, 10)}), processes("b", {"time": runs_of(2, 10)})
    )
    rows = found.rows.iloc[[0, 0, 0]].reset_index(drop=True)
    rows["map"] = ["t", "n", "f"]
    rows.loc[1, ["verdict", "ci_low", "ci_high"]] = ["too noisy", 0.8, 1.3]
    rows.loc[2, ["verdict", "ci_low", "ci_high"]] = ["regression", 1.2, 1.9]
    look = Comparison(rows, found.axis, "base", "head", found.thresholds)
    first = tuple(SideRuns(side, rounds={c: [[]] * 10 for c in (tight, noisy, flagged)})
                  for side in SIDES)  # fmt: skip
    asked: list[list[CaseId]] = []

    def rounds(runner: Runner, sides: tuple[Side, Side], **kw: object) -> tuple[SideRuns, ...]:
        asked.append(runner.cases)
        return tuple(SideRuns(s, rounds={c: [[]] * 10 for c in runner.cases}) for s in sides)

    monkeypatch.setattr(second_opinion, "run_interleaved", rounds)
    more = second_opinion.more_rounds(
        first, look, rounds=10, reps=5, timeout=60, progress=lambda _: None
    )  # type: ignore[arg-type]
    assert more == [flagged, noisy] and asked == [[flagged, noisy]]
    assert [len(first[0].rounds[c]) for c in (tight, noisy, flagged)] == [10, 20, 20]
