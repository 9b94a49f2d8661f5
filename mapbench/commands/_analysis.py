"""What `mapbench compare` and `mapbench report` share: loading, selecting sides, thresholds."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mapbench.errors import UsageError
from mapbench.thresholds import CLOCKS, EXIT_TOO_NOISY, STATISTICS, Thresholds

if TYPE_CHECKING:  # pandas loads only with the results, not with the command line
    from mapbench.results import ResultSet

# (option, type, help) of each Thresholds field a user may set; defaults come from Thresholds.
_THRESHOLD_OPTIONS = (
    ("min_effect", float, "relative change below which a noisy metric is 'no change'"),
    ("alpha", float, "false-discovery rate across all rows (Benjamini-Hochberg)"),
    ("confidence", float, "confidence level of the reports' time-cell intervals"),
    ("min_samples", int, "worker processes needed on each side to run a test"),
    ("deterministic_tolerance", float, "relative change of an exact metric still 'no change'"),
    ("byte_tolerance", float, "bytes an exact whole-run byte total may move, still 'no change'"),
    (
        "block_tolerance",
        float,
        "blocks (or GC objects) an exact whole-run count may move, 'no change'",
    ),
)


def add_threshold_options(
    parser: argparse.ArgumentParser, fields: Sequence[str] | None = None
) -> None:
    """The verdict's options: the Thresholds `fields` (default: all of `_THRESHOLD_OPTIONS`),
    then --statistic, --clock and --allow-noisy; defaults come from Thresholds."""
    defaults = Thresholds()
    group = parser.add_argument_group("verdict thresholds")
    for name, kind, text in _THRESHOLD_OPTIONS:
        if fields is None or name in fields:
            group.add_argument(
                "--" + name.replace("_", "-"),
                type=kind,
                default=getattr(defaults, name),
                help=f"{text} (default %(default)s)",
            )
    group.add_argument(
        "--statistic",
        choices=list(STATISTICS),
        default=defaults.statistic,
        help="the percentile of each worker process's runs that stands for it (default "
        "%(default)s)",
    )
    group.add_argument(
        "--clock",
        choices=list(CLOCKS),
        default=defaults.clock,
        help="the clock times are judged on (default %(default)s: blind to waiting for a core; "
        "wall time is judged where the work waits off the CPU or is all that was recorded)",
    )
    group.add_argument(
        "--allow-noisy",
        action="store_true",
        help=f"exit 0 rather than {EXIT_TOO_NOISY} when nothing regressed but a row was too "
        "noisy to judge",
    )


def thresholds_from(args: argparse.Namespace, **fixed: float) -> Thresholds:
    """The Thresholds the options of `add_threshold_options` chose, with `fixed` fields set by
    a command's own options."""
    given = vars(args)
    chosen: dict[str, Any] = {n: given[n] for n, _, _ in _THRESHOLD_OPTIONS if n in given}
    return Thresholds(statistic=args.statistic, clock=args.clock, **{**chosen, **fixed})


def exit_status(status: int, args: argparse.Namespace) -> int:
    """A comparison's exit status, with "too noisy" forgiven under --allow-noisy."""
    return 0 if status == EXIT_TOO_NOISY and args.allow_noisy else status


def load_and_warn(paths: Sequence[str]) -> ResultSet:
    """Load results (results stores included), printing one warning line per file that could
    not be (fully) loaded.

    Input that holds no result at all (an empty directory, unrelated JSON) is a `UsageError`.
    """
    from mapbench.history.store import is_store, load_store
    from mapbench.results import combine, load, problems_as_text

    plain = [p for p in paths if not is_store(p)]
    stored = [load_store(p) for p in paths if is_store(p)]
    results = combine([*stored, load(plain)]) if stored else load(plain)
    for line in problems_as_text(results.problems):
        print(f"mapbench: {line}", file=sys.stderr)
    if results.frame.empty:
        why = "see the warnings above" if results.problems else "no result files"
        raise UsageError(f"no results in {', '.join(paths)} ({why})")
    return results


def resolve_side(text: str, pool: ResultSet | None, filters: Sequence[str], name: str) -> ResultSet:
    """A side given as a results path, or as a selector over `pool` (the --results)."""
    from mapbench.results import looks_like_selector, parse_selector, where

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
