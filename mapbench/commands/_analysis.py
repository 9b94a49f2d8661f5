"""What `mapbench compare` and `mapbench report` share: loading, selecting sides, thresholds."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mapbench.compare import STATISTICS, Thresholds
from mapbench.errors import UsageError
from mapbench.results import (
    ResultSet,
    load,
    looks_like_selector,
    parse_selector,
    problems_as_text,
    where,
)


def add_threshold_options(parser: argparse.ArgumentParser) -> None:
    defaults = Thresholds()
    group = parser.add_argument_group("verdict thresholds")
    group.add_argument(
        "--min-effect",
        type=float,
        default=defaults.min_effect,
        help="relative change below which a noisy metric is 'no change' (default %(default)s)",
    )
    group.add_argument(
        "--alpha",
        type=float,
        default=defaults.alpha,
        help="false-discovery rate across all rows, Benjamini-Hochberg (default %(default)s)",
    )
    group.add_argument(
        "--statistic",
        choices=list(STATISTICS),
        default=defaults.statistic,
        help="the percentile compared for noisy metrics (default %(default)s: robust to bursts)",
    )
    group.add_argument(
        "--confidence",
        type=float,
        default=defaults.confidence,
        help="confidence level of the bootstrap interval (default %(default)s)",
    )
    group.add_argument(
        "--min-samples",
        type=int,
        default=defaults.min_samples,
        help="samples needed on each side to run a test (default %(default)s)",
    )
    group.add_argument(
        "--deterministic-tolerance",
        type=float,
        default=defaults.deterministic_tolerance,
        help="relative change of an exact metric still counted as no change (default 0: any)",
    )


def thresholds_from(args: argparse.Namespace) -> Thresholds:
    return Thresholds(
        min_effect=args.min_effect,
        alpha=args.alpha,
        statistic=args.statistic,
        confidence=args.confidence,
        min_samples=args.min_samples,
        deterministic_tolerance=args.deterministic_tolerance,
    )


def load_and_warn(paths: Sequence[str]) -> ResultSet:
    """Load results, printing one warning line per file that could not be (fully) loaded."""
    results = load(paths)
    for line in problems_as_text(results.problems):
        print(f"mapbench: {line}", file=sys.stderr)
    return results


def resolve_side(text: str, pool: ResultSet | None, filters: Sequence[str], name: str) -> ResultSet:
    """A side given as a results path, or as a selector over `pool` (the --results)."""
    if Path(text).exists():
        side = load_and_warn([text])
    elif looks_like_selector(text):
        if pool is None:
            raise UsageError(f"{name} {text!r} is a selector: give the results with --results DIR")
        side = where(pool, parse_selector(text))
    else:
        raise UsageError(
            f"{name} {text!r} is neither a results file or directory nor a selector "
            "such as python=3.12, commit=abc123 or map=dict"
        )
    for extra in filters:
        side = where(side, parse_selector(extra))
    if side.frame.empty:
        raise UsageError(f"{name} {text!r} selects no results")
    return side
