"""The knobs of a verdict, apart from the statistics (so the CLI can offer them cheaply)."""

from __future__ import annotations

from dataclasses import dataclass

from mapbench.errors import MapbenchError

# The statistic of each worker process's runs, as a percentile: one number per process.
STATISTICS = {"min": 0.0, "p10": 10.0, "p25": 25.0, "median": 50.0}
# Which clock times are judged on: CPU time of the measuring thread, or wall time.
CLOCKS = ("cpu", "wall")
# Exit status of `compare` and `ci` when nothing regressed but a row was too noisy to judge.
EXIT_TOO_NOISY = 4
# The one statistic people see first for a time, in the CLI's summary and in the report.
HEADLINE = "p10"


@dataclass(frozen=True)
class Thresholds:
    """The knobs of a verdict (all are CLI options)."""

    min_effect: float = 0.05  # relative change smaller than this is "no change"
    alpha: float = 0.05  # false-discovery rate across all noisy rows (Benjamini-Hochberg)
    statistic: str = HEADLINE  # a key of STATISTICS
    clock: str = "cpu"  # a member of CLOCKS (wall time is judged where CPU time is blind)
    min_samples: int = 5  # worker processes per side, below which no test is run
    # The level of intervals that are not a verdict's: each report time cell's (the median of
    # its processes) and each change point's.
    confidence: float = 0.95
    deterministic_tolerance: float = 0.0  # relative change of an exact metric still "no change"
    # Instruction counts repeat exactly for one interpreter started the same way, but two builds
    # (two venvs), or one started from another directory or environment, differ by a few
    # hundredths of a percent: CPython's method cache and id-based hashes depend on addresses,
    # and those on what start-up allocated (paths of different lengths, a directory's listing,
    # environment variables; measured: 4 of 31,656 instructions per lookup, 0.013%).
    instruction_tolerance: float = 0.002
    # How far an exact whole-run total may move and still be "no change": bytes (allocations
    # kept or at peak; per-entry memory gets this divided by the entries) and blocks. One
    # object more per run (a lazily made attribute, a cache entry: tens to hundreds of bytes,
    # a block or two) is not a regression; one more per operation moves the per-operation
    # counts, which are compared exactly.
    byte_tolerance: float = 1024.0
    block_tolerance: float = 16.0

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            known = ", ".join(STATISTICS)
            raise MapbenchError(f"unknown statistic {self.statistic!r} (known: {known})")
        if self.clock not in CLOCKS:
            raise MapbenchError(f"unknown clock {self.clock!r} (known: {', '.join(CLOCKS)})")
        if not 0 < self.alpha < 1 or not 0 < self.confidence < 1:
            raise MapbenchError("alpha and confidence must lie strictly between 0 and 1")
        tolerances = (
            self.min_effect,
            self.deterministic_tolerance,
            self.instruction_tolerance,
            self.byte_tolerance,
            self.block_tolerance,
        )
        if min(tolerances) < 0 or self.min_samples < 2:
            raise MapbenchError("effect sizes must be >= 0 and min_samples >= 2")


__all__ = ["CLOCKS", "EXIT_TOO_NOISY", "HEADLINE", "STATISTICS", "Thresholds"]
