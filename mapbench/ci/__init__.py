"""`mapbench ci`: compare two commits interleaved, fail on regressions; measure the harness."""

from __future__ import annotations

from mapbench.ci.interleave import CaseSpec, Side
from mapbench.ci.pipeline import CiOptions, CiOutcome, run_ci

__all__ = ["CaseSpec", "CiOptions", "CiOutcome", "Side", "run_ci"]
