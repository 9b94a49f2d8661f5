"""The statistics of a comparison: verdicts, unequal sample counts, FDR control, exact metrics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyperf
import pytest
from scipy import stats

from mapbench import schema
from mapbench.cli import main
from mapbench.compare import compare
from mapbench.errors import MapbenchError
from mapbench.measure import CaseId, measurement
from mapbench.results import ResultSet, Row, combine, frame_of, load, where
from mapbench.schema import CaseResult
from mapbench.thresholds import EXIT_TOO_NOISY, Thresholds

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
    return ResultSet(frame_of(rows))


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


def _exact_side(commit: str, metric: str, unit: str, value: float, size: int = 1000) -> ResultSet:
    frame = side(commit, {"m": (value,)}, kind="deterministic").frame
    return ResultSet(frame.assign(metric=metric, unit=unit, size=size))


@pytest.mark.parametrize(
    ("metric", "unit", "base", "one_off", "per_op"),
    [
        ("alloc_net_bytes", "B", 64.0, 64.0 + 56, 64.0 + 2000 * 16),
        ("alloc_native_peak_bytes", "B", 4096.0, 4096.0 + 1024, 4096.0 + 1025),
        ("alloc_live_blocks", "blocks", 10.0, 12.0, 10.0 + 2000),
        # per entry: 1 KiB over 1000 entries
        ("memory_bytes_per_entry", "B", 80.0, 80.0 + 56 / 1000, 80.0 + 16),
    ],
)
def test_whole_run_totals_take_a_one_off_object_but_not_one_per_operation(
    metric: str, unit: str, base: float, one_off: float, per_op: float
) -> None:
    def verdict(candidate: float) -> str:
        a, b = _exact_side("a", metric, unit, base), _exact_side("b", metric, unit, candidate)
        return str(compare(a, b).rows.iloc[0]["verdict"])

    assert verdict(one_off) == "no change"
    assert verdict(per_op) == "regression"
    assert verdict(base - (per_op - base)) == "improvement"


def test_per_operation_allocations_are_compared_exactly() -> None:
    a = _exact_side("a", "alloc_python_calls_per_op", "alloc/op", 6.0)
    b = _exact_side("b", "alloc_python_calls_per_op", "alloc/op", 6.0005)
    assert compare(a, b).rows.iloc[0]["verdict"] == "regression"
    strict = Thresholds(byte_tolerance=0, block_tolerance=0)
    bytes_a = _exact_side("a", "alloc_net_bytes", "B", 64)
    bytes_b = _exact_side("b", "alloc_net_bytes", "B", 65)
    assert compare(bytes_a, bytes_b, strict).rows.iloc[0]["verdict"] == "regression"
    with pytest.raises(MapbenchError):
        Thresholds(byte_tolerance=-1)


def processes(
    commit: str,
    clocks: dict[str, list[tuple[float, ...]]],
    load: float | None = None,
    switches: tuple[float, ...] | None = None,
) -> ResultSet:
    """One side measured as `mapbench ci` does: per clock, the runs of each worker process
    (grouped), and optionally the machine's load per process and context switches per run."""
    file = f"{commit}.json"

    def row(metric: str, unit: str, runs: list[tuple[float, ...]]) -> Row:
        flat = tuple(x for process in runs for x in process)
        return Row(
            source="mapbench", file=file, machine="vm", commit=commit, commit_date=pd.NaT,
            python="3.12.1", env="", benchmark="lookup-hit", map="m", workload="lookup-hit",
            size=1000, key_kind="random-int", params="", metric=metric, unit=unit,
            kind="noisy", value=float(np.median(flat)), samples=flat,
            groups=tuple(len(p) for p in runs),
        )  # fmt: skip

    rows = [row(metric, "s", runs) for metric, runs in clocks.items()]
    n = len(next(iter(clocks.values())))
    if load is not None:
        rows.append(row("load_average", "tasks", [(load,)] * n))
    if switches is not None:
        rows.append(row("context_switches", "switches", [switches] * n))
    return ResultSet(frame_of(rows), {file: {"cpu_count": 2}})


def runs_of(seed: int, n: int, scale: float = 1.0, reps: int = 3) -> list[tuple[float, ...]]:
    """`n` worker processes of `reps` runs each, timing-like."""
    rng = np.random.default_rng(seed)
    return [
        tuple(float(x) for x in scale * (1e-6 + rng.gamma(2.0, 0.01e-6, reps))) for _ in range(n)
    ]


def test_the_worker_process_is_the_unit() -> None:
    """60 runs from 3 processes are 3 observations, not 60: too few for any test."""
    few = compare(
        processes("a", {"time": runs_of(1, 3, reps=20)}),
        processes("b", {"time": runs_of(2, 3, 1.5, reps=20)}),
    ).rows.iloc[0]
    assert (few["base_n"], few["candidate_n"]) == (3, 3)
    assert few["verdict"] == "inconclusive" and "too few processes" in few["note"]
    enough = compare(
        processes("a", {"time": runs_of(1, 10)}), processes("b", {"time": runs_of(2, 10, 1.5)})
    ).rows.iloc[0]
    assert enough["verdict"] == "regression" and enough["base_n"] == 10


def test_significance_is_the_interval_excluding_no_change() -> None:
    """Over a whole comparison, q <= alpha exactly where the (adjusted) interval excludes 1."""
    base = {f"m{i}": noise(i, 12) for i in range(30)}
    cand = {f"m{i}": noise(100 + i, 12, 1.0 + 0.02 * (i % 8)) for i in range(30)}
    result = compare(side("a", base), side("b", cand))
    rows = result.rows
    excludes = (rows["ci_low"] > 1) | (rows["ci_high"] < 1)
    assert (excludes == (rows["q_value"] <= 0.05)).all()
    rejected = int((rows["q_value"] <= 0.05).sum())
    assert result.interval_level == pytest.approx(1 - 0.05 * max(rejected, 1) / 30)


def test_cpu_time_is_judged_and_wall_time_kept_out_of_the_verdict() -> None:
    """Under time-sharing wall time doubles in some processes; CPU time does not."""
    cpu_a, cpu_b = runs_of(1, 10), runs_of(2, 10, 1.2)
    wall_a = [tuple(x * (2.0 if i % 2 else 1.0) for x in p) for i, p in enumerate(cpu_a)]
    wall_b = [tuple(x * 1.01 for x in p) for p in cpu_b]
    a = processes("a", {"time": wall_a, "cpu_time": cpu_a})
    b = processes("b", {"time": wall_b, "cpu_time": cpu_b})
    [row] = compare(a, b).rows.to_dict("records")
    assert row["metric"] == "cpu_time" and row["verdict"] == "regression"
    [wall] = compare(a, b, Thresholds(clock="wall")).rows.to_dict("records")
    assert wall["metric"] == "time" and wall["verdict"] != "regression"


def test_work_that_waits_off_the_cpu_is_judged_on_wall_time() -> None:
    wall_a, wall_b = runs_of(1, 10), runs_of(2, 10, 1.3)
    cpu = [tuple(x * 0.2 for x in p) for p in wall_a]  # a thread that mostly waits
    a = processes("a", {"time": wall_a, "cpu_time": cpu})
    b = processes("b", {"time": wall_b, "cpu_time": cpu})
    [row] = compare(a, b).rows.to_dict("records")
    assert row["metric"] == "time" and row["verdict"] == "regression"
    assert "CPU time is 15% of wall time" in row["note"]  # 0.2 x base, over a 30% slower head
    assert "no run-queue delay recorded" in row["note"]  # results before version 4


def test_modes_make_a_row_too_noisy_not_no_change() -> None:
    fast, slow = runs_of(1, 6), runs_of(2, 4, 2.0)
    result = compare(
        processes("a", {"time": fast + slow}), processes("b", {"time": runs_of(3, 10)})
    )
    [row] = result.rows.to_dict("records")
    assert row["verdict"] == "too noisy"
    assert "base splits into 2 modes (6 processes at 1.0" in row["note"]
    assert result.exit_status == 4


def test_cpu_time_in_modes_is_judged_on_each_sides_fast_mode() -> None:
    """CPU time's slow mode (~2x) is the machine's state: the fast modes decide, both ways."""
    base = runs_of(1, 7) + runs_of(2, 3, 1.8)
    same = compare(
        processes("a", {"cpu_time": base}),
        processes("b", {"cpu_time": runs_of(3, 6) + runs_of(4, 4, 1.8)}),
    )
    [row] = same.rows.to_dict("records")
    assert row["verdict"] == "no change" and same.exit_status == 0
    assert (row["base_n"], row["candidate_n"]) == (7, 6)
    fast = "judged on the fast mode of CPU time (base: 7 of 10 processes, 3 set aside at"
    assert fast in row["note"]
    slower = compare(
        processes("a", {"cpu_time": base}),
        processes("b", {"cpu_time": runs_of(5, 8, 1.15) + runs_of(6, 2, 2.1)}),
    )
    [row] = slower.rows.to_dict("records")
    assert row["verdict"] == "regression" and row["ratio"] == pytest.approx(1.15, abs=0.02)
    assert "head: 8 of 10 processes, 2 set aside at 2.1" in row["note"]
    # a fast mode of fewer processes than a test needs decides nothing: too noisy, as before
    few = compare(
        processes("a", {"cpu_time": runs_of(1, 3) + runs_of(2, 7, 1.8)}),
        processes("b", {"cpu_time": runs_of(3, 4) + runs_of(4, 6, 1.8)}),
    )
    [row] = few.rows.to_dict("records")
    assert row["verdict"] == "too noisy" and "base splits into 2 modes (3 processes" in row["note"]
    assert "fast mode" not in row["note"]


def test_contention_beyond_the_bounds_is_too_noisy_with_the_reason() -> None:
    same = {"time": runs_of(1, 10)}
    loaded = compare(processes("a", same, load=12.0), processes("b", same, load=1.0))
    assert loaded.rows.iloc[0]["verdict"] == "too noisy"
    assert "base: load average 6.0 per core (bound 5)" in loaded.rows.iloc[0]["note"]
    calm = compare(processes("a", same, load=3.0), processes("b", same, load=3.0))
    assert calm.rows.iloc[0]["verdict"] == "no change" and calm.exit_status == 0
    # every wall-clock run preempted: the fastest run of a process is not a clean one
    preempted = compare(processes("a", same, switches=(1, 2, 1)), processes("b", same))
    assert preempted.rows.iloc[0]["verdict"] == "too noisy"
    assert "every timed run preempted in 100%" in preempted.rows.iloc[0]["note"]
    clean_run = compare(processes("a", same, switches=(1, 0, 1)), processes("b", same))
    assert clean_run.rows.iloc[0]["verdict"] == "no change"


def test_a_wide_interval_is_too_noisy_and_a_clear_regression_stays_one() -> None:
    rng = np.random.default_rng(5)
    wide = [[(float(x),) for x in 1e-6 * np.exp(rng.normal(0, 0.3, 8))] for _ in range(2)]
    row = compare(processes("a", {"time": wide[0]}), processes("b", {"time": wide[1]})).rows
    assert row.iloc[0]["verdict"] == "too noisy"
    assert "spread: interval" in row.iloc[0]["note"]
    slower = compare(
        processes("a", {"time": runs_of(1, 10)}, load=20.0),
        processes("b", {"time": runs_of(2, 10, 1.5)}, load=20.0),
    )
    assert slower.rows.iloc[0]["verdict"] == "regression" and slower.exit_status == 1


def test_conditions_are_read_not_judged() -> None:
    same = {"time": runs_of(1, 10)}
    rows = compare(processes("a", same, 1.0, (0, 0, 0)), processes("b", same, 3.0, (5, 5, 5)))
    assert set(rows.rows["metric"]) == {"time"}


def _pyperf_file(path: Path, case: str, runs: list[tuple[float, ...]]) -> None:
    """A pyperf results file as `mapbench run` writes it: one pyperf run per worker process."""
    meta = {"name": case, "unit": "second", "loops": 1, "inner_loops": 1, "load_avg_1min": 1.5}
    bench = pyperf.Benchmark(
        [pyperf.Run(list(p), warmups=[(1, p[0])], metadata=meta, collect_metadata=False)
         for p in runs]
    )  # fmt: skip
    pyperf.BenchmarkSuite([bench]).dump(str(path))


def _metrics_file(path: Path, case: str, runs: list[tuple[float, ...]]) -> None:
    """The same processes as `mapbench ci` saves them (wall clock only, as pyperf has)."""
    c = CaseId.parse(case)
    flat = tuple(x for p in runs for x in p)
    time = measurement("time", min(flat), samples=flat, groups=tuple(len(p) for p in runs))
    load = measurement("load_average", 1.5, samples=(1.5,) * len(runs))
    result = CaseResult.of(c, metrics=(time, load))
    env = {"python": "3.12.1", "machine": "vm", "cpu_count": 2}
    path.write_bytes(schema.encode(schema.MetricsFile(environment=env, results=(result,))))


def test_pyperf_results_get_the_verdict_ci_gives(tmp_path: Path) -> None:
    """`mapbench compare` of two `mapbench run` (pyperf) results judges exactly as `ci` does:
    pyperf's runs are worker processes, each reduced to one number, the same test on them."""
    case = "dict/lookup-hit/random-int/1000"
    sides = {"a": runs_of(1, 8, reps=3), "b": runs_of(2, 8, 1.12, reps=3)}
    rows = {}
    for tool, write in (("pyperf", _pyperf_file), ("ci", _metrics_file)):
        for name, runs in sides.items():
            (tmp_path / tool / name).mkdir(parents=True)
            write(tmp_path / tool / name / "results.json", case, runs)
        found = compare(load([tmp_path / tool / "a"]), load([tmp_path / tool / "b"]))
        rows[tool] = found.rows.iloc[0]
    columns = ["verdict", "ratio", "ci_low", "ci_high", "p_value", "base_n", "candidate_n"]
    assert rows["pyperf"][columns].tolist() == rows["ci"][columns].tolist()
    assert rows["ci"]["verdict"] == "regression" and rows["ci"]["base_n"] == 8


def test_compare_exits_4_on_a_too_noisy_row_unless_allowed(tmp_path: Path) -> None:
    case = "dict/lookup-hit/random-int/1000"
    modes = runs_of(1, 6) + runs_of(2, 4, 2.0)  # base's processes in two modes
    for name, runs in (("a", modes), ("b", runs_of(3, 10))):
        (tmp_path / name).mkdir()
        _metrics_file(tmp_path / name / "results.json", case, runs)
    argv = ["compare", str(tmp_path / "a"), str(tmp_path / "b")]
    assert main(argv) == EXIT_TOO_NOISY == 4
    assert main([*argv, "--allow-noisy"]) == 0
