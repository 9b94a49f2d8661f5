"""Which change-point detector for noisy metrics? Detection, false alarms and speed, measured.

    python scripts/changepoint_choice.py [--processes 60] [--trials 200] [--noise FILE]

The series are **synthetic**: each commit's point is the 10th percentile of 5 per-process
minima drawn from a pool of **measured** per-process minima of one unchanged case (dict,
lookup-hit, 1,000 random-int keys, 5 runs per worker process, this machine), times the step
factor after the change. So the noise (its bimodality included) is this machine's, the steps are
put in by hand. Detectors that are not installed are listed as such (Apache Otava pins numpy
2.2 and pulls cloud clients, so it usually lives in an environment of its own).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mapbench.ci.interleave import Runner, Side
from mapbench.ci.results_io import per_process
from mapbench.measure.case import CaseId
from mapbench.measure.timing import Stopwatch

Detector = Callable[[np.ndarray], list[int]]  # indices of the first point after each change


def measured_pool(processes: int) -> np.ndarray:
    """Per-process minima (s per op) of one unchanged case, `processes` worker processes."""
    case = CaseId("dict", "lookup-hit", "random-int", 1000)
    side = Side("pool", sys.executable)
    minima = []
    with Runner([case]) as runner:
        for i in range(processes):
            done = runner.run(side, runner.job(side, reps=5))
            found = per_process([list(done.results[0].metrics)], "time")
            if found is not None:
                minima.append(found.value)
            print(f"noise pool: process {i + 1}/{processes}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return np.array(minima)


# The documented bimodality (docs/ci.md: the same lookups take 58 us in some processes and ~100
# us in others): with --slow-mode, this share of processes runs this much slower.
SLOW_MODE = (0.3, 1.7)


def series(
    pool: np.ndarray,
    n: int,
    steps: Sequence[tuple[int, float]],
    rng: np.random.Generator,
    slow_mode: bool = False,
) -> np.ndarray:
    """n commits; each point the p10 of 5 draws from the pool, scaled by the steps so far."""
    draws = rng.choice(pool, size=(n, 5))
    if slow_mode:
        share, factor = SLOW_MODE
        draws = draws * np.where(rng.random(draws.shape) < share, factor, 1.0)
    points = np.percentile(draws, 10, axis=1)
    factor = np.ones(n)
    for at, ratio in steps:
        factor[at:] *= ratio
    return points * factor


def _sigma(x: np.ndarray) -> float:
    """Robust noise scale: the MAD of first differences / sqrt(2) (a step moves one difference)."""
    d = np.diff(x)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)) or 1e-12


def ruptures_pelt(model: str, factor: float) -> Detector:
    import ruptures

    def detect(x: np.ndarray) -> list[int]:
        y = np.log(x)
        s = _sigma(y)
        pen = factor * (s * s if model == "l2" else s) * np.log(len(y))
        ends = ruptures.Pelt(model=model, min_size=2, jump=1).fit(y).predict(pen=pen)
        return [int(e) for e in ends[:-1]]

    return detect


def ruptures_kernel(kernel: str, factor: float) -> Detector:
    import ruptures

    def detect(x: np.ndarray) -> list[int]:
        y = np.log(x)
        # rbf: bounded cost, a plain penalty; linear (= l2): scaled by the noise like Pelt l2
        pen = factor * _sigma(y) ** 2 * np.log(len(y)) if kernel == "linear" else factor
        algo = ruptures.KernelCPD(kernel=kernel, min_size=2).fit(y.reshape(-1, 1))
        ends = algo.predict(pen=pen)
        return [int(e) for e in ends[:-1]]

    return detect


def ruptures_ranks(factor: float) -> Detector:
    import ruptures
    from scipy.stats import rankdata

    def detect(x: np.ndarray) -> list[int]:
        y = rankdata(x) / len(x)
        pen = factor * _sigma(y) ** 2 * np.log(len(y))
        ends = (
            ruptures.KernelCPD(kernel="linear", min_size=2).fit(y.reshape(-1, 1)).predict(pen=pen)
        )
        return [int(e) for e in ends[:-1]]

    return detect


def ruptures_clipped(factor: float) -> Detector:
    import ruptures
    from scipy.ndimage import median_filter

    def detect(x: np.ndarray) -> list[int]:
        y = np.log(x)
        s = _sigma(y)
        smooth = median_filter(y, size=5, mode="nearest")
        y = smooth + np.clip(y - smooth, -3 * s, 3 * s)
        pen = factor * s * s * np.log(len(y))
        ends = (
            ruptures.KernelCPD(kernel="linear", min_size=2).fit(y.reshape(-1, 1)).predict(pen=pen)
        )
        return [int(e) for e in ends[:-1]]

    return detect


def otava(max_pvalue: float, min_magnitude: float) -> Detector:
    from otava.analysis import compute_change_points

    def detect(x: np.ndarray) -> list[int]:
        found, _ = compute_change_points(
            list(x), window_len=50, max_pvalue=max_pvalue, min_magnitude=min_magnitude
        )
        return [int(c.index) for c in found]

    return detect


def chosen() -> Detector:
    from mapbench.history.changepoints import detect_noisy

    def detect(x: np.ndarray) -> list[int]:
        return [i for i, *_ in detect_noisy(x)]

    return detect


def detectors() -> dict[str, Detector | str]:
    """Every candidate, or why it cannot run here."""
    made: dict[str, Detector | str] = {}
    candidates: dict[str, Callable[[], Detector]] = {
        "Apache Otava 0.8, p < 0.001": lambda: otava(0.001, 0.0),
        "Apache Otava 0.8, p < 0.001, min change 5%": lambda: otava(0.001, 0.05),
        "ruptures Pelt l1, pen 3 s ln n": lambda: ruptures_pelt("l1", 3.0),
        "ruptures Pelt l2, pen 4 s^2 ln n": lambda: ruptures_pelt("l2", 4.0),
        "ruptures KernelCPD linear (= l2), pen 4 s^2 ln n": lambda: ruptures_kernel("linear", 4.0),
        "ruptures KernelCPD linear, outliers clipped, pen 6 s^2 ln n": lambda: ruptures_clipped(
            6.0
        ),
        "ruptures KernelCPD linear on ranks, pen 4 s^2 ln n": lambda: ruptures_ranks(4.0),
        "ruptures KernelCPD rbf, pen 3": lambda: ruptures_kernel("rbf", 3.0),
        "mapbench.history (KernelCPD rbf, windows, confirmed)": chosen,
    }
    for name, make in candidates.items():
        try:
            made[name] = make()
        except ImportError as exc:
            made[name] = f"not installed ({exc.name})"
    return made


def score(
    detect: Detector, pool: np.ndarray, trials: int, seed: int, slow_mode: bool
) -> dict[str, float]:
    """Detection rates, false alarms and time per series of one detector."""
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    scenarios = {
        "flat60": (60, []),
        "step10": (60, [(30, 1.10)]),
        "step30": (60, [(30, 1.30)]),
        "short30": (16, [(5, 1.30)]),  # the end-to-end test's shape: 5 commits, then the step
    }
    for name, (n, steps) in scenarios.items():
        hits = exact = false = 0
        for _ in range(trials):
            found = detect(series(pool, n, steps, rng, slow_mode))
            truth = [at for at, _ in steps]
            near = [f for f in found if any(abs(f - t) <= 1 for t in truth)]
            hits += bool(near) if truth else 0
            exact += any(f in truth for f in found)
            false += len(found) - len(near)
        out[name + " hit"] = hits / trials
        out[name + " exact"] = exact / trials
        out[name + " false"] = false / trials
    long = series(pool, 1000, [(250, 1.2), (500, 0.8), (750, 1.5)], rng)
    reps = 5
    with Stopwatch() as sw:
        for _ in range(reps):
            detect(long)
    out["ms per 1000-point series"] = 1000 * sw.seconds / reps
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=60)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--noise", type=Path, help="read (or, if missing, write) the noise pool")
    parser.add_argument(
        "--slow-mode",
        action="store_true",
        help=f"{SLOW_MODE[0]:.0%} of processes {SLOW_MODE[1]}x slower (the documented bimodality)",
    )
    args = parser.parse_args(argv)
    if args.noise and args.noise.is_file():
        pool = np.array(json.loads(args.noise.read_text()))
    else:
        load_before = os.getloadavg()
        pool = measured_pool(args.processes)
        if args.noise:
            args.noise.write_text(json.dumps(pool.tolist()))
        print(f"noise pool measured at load average {load_before[0]:.1f}", file=sys.stderr)
    spread = np.percentile(pool, [0, 10, 50, 90, 100]) / pool.min()
    print(
        f"{_dt.date.today()}, load average {os.getloadavg()[0]:.1f}: pool of {len(pool)} "
        f"per-process minima; min/p10/p50/p90/max relative to the fastest: "
        + " / ".join(f"{v:.2f}" for v in spread)
        + (
            f"; plus {SLOW_MODE[0]:.0%} of processes {SLOW_MODE[1]}x slower"
            if args.slow_mode
            else ""
        )
    )
    print(
        "\n| detector | flat, 60: false alarms per series | +10%: found (exact) | "
        "+30%: found (exact) | 16 commits, +30% after 5: found (exact) | false alarms in "
        "the step series | ms per 1,000-point series |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, detect in detectors().items():
        if isinstance(detect, str):
            print(f"| {name} | {detect} | | | | | |")
            continue
        s = score(detect, pool, args.trials, 1, args.slow_mode)
        false_steps = (s["step10 false"] + s["step30 false"] + s["short30 false"]) / 3
        print(
            f"| {name} | {s['flat60 false']:.3f} | {s['step10 hit']:.0%} ({s['step10 exact']:.0%})"
            f" | {s['step30 hit']:.0%} ({s['step30 exact']:.0%}) | {s['short30 hit']:.0%} "
            f"({s['short30 exact']:.0%}) | {false_steps:.3f} | "
            f"{s['ms per 1000-point series']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
