"""Numbers as people read them: scaled units, signed percentages, short hashes."""

from __future__ import annotations

import math

# Typography for people: a missing number, a true minus sign, a multiplication sign.
MISSING = "\u2013"
MINUS = "\u2212"
TIMES = "\u00d7"

_TIME_STEPS = ((1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s"))
_BYTE_STEPS = ((1.0, "B"), (1024.0, "KiB"), (1024.0**2, "MiB"), (1024.0**3, "GiB"))


def scale_for(unit: str, magnitude: float) -> tuple[float, str]:
    """(divisor, unit label) that puts `magnitude` of `unit` in a readable range."""
    steps = {"s": _TIME_STEPS, "seconds": _TIME_STEPS, "bytes": _BYTE_STEPS, "B": _BYTE_STEPS}
    if unit not in steps or not math.isfinite(magnitude) or magnitude == 0:
        return 1.0, unit
    chosen = steps[unit][0]
    for step in steps[unit]:
        if abs(magnitude) >= step[0]:
            chosen = step
    return chosen


def value(number: float | None, unit: str) -> str:
    """`1.23 µs`, `45.6 KiB`, `1.26 probes`; MISSING for a missing number."""
    if number is None or not math.isfinite(number):
        return MISSING
    divisor, label = scale_for(unit, number)
    return f"{_digits(number / divisor)} {label}".strip()


def compact(number: float, unit: str) -> str:
    """Like `value`, but counts without their unit (the column header names it): `7`, `1.32`."""
    if unit in ("s", "seconds", "bytes", "B"):
        return value(number, unit)
    if number is None or not math.isfinite(number):
        return MISSING
    if number == int(number):
        return f"{number:,.0f}"
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.3g}"


def factor(number: float) -> str:
    """A ratio to a reference as a factor, with a multiplication sign: `0.75x`, `19.8x`."""
    if number is None or not math.isfinite(number):
        return MISSING
    return f"{number:.3g}{TIMES}"


def change(ratio: float, times: bool | None = None) -> str:
    """A ratio as a signed change: `+12.3%`, `-4.0%` (true minus), `x3.10` from x3 up.

    `times` forces one notation (True: always a factor, False: always a percentage).
    """
    if ratio is None or not math.isfinite(ratio):
        return MISSING
    if times if times is not None else ratio >= 3:
        return f"{TIMES}{ratio:.3g}" if ratio < 10 else f"{TIMES}{ratio:,.1f}"
    percent = (ratio - 1) * 100
    if abs(percent) < 0.05:
        return "±0.0%"
    return f"{'+' if percent > 0 else MINUS}{abs(percent):,.1f}%"


def _as_factor(*ratios: float) -> bool:
    """One notation for numbers shown together: factors when any of them is x3 or more."""
    return any(r is not None and math.isfinite(r) and r >= 3 for r in ratios)


def interval(low: float, high: float) -> str:
    """A ratio's interval as changes in one notation: `[+8.1%, +15.0%]`, `[x2.31, x3.16]`."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return MISSING
    times = _as_factor(low, high)
    return f"[{change(low, times)}, {change(high, times)}]"


def change_and_interval(ratio: float, low: float, high: float) -> tuple[str, str]:
    """A change and its interval in one notation (both percentages, or all factors)."""
    times = _as_factor(ratio, low, high)
    shown = MISSING
    if math.isfinite(low) and math.isfinite(high):
        shown = f"[{change(low, times)}, {change(high, times)}]"
    return change(ratio, times), shown


def value_range(low: float, high: float, unit: str) -> str:
    """Two numbers in one scaled unit, joined by an en dash: `80.1-88.0 ns`."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return MISSING
    divisor, label = scale_for(unit, max(abs(low), abs(high)))
    return f"{_digits(low / divisor)}\u2013{_digits(high / divisor)} {label}".strip()


def _digits(scaled: float) -> str:
    return f"{scaled:,.0f}" if abs(scaled) >= 1000 else f"{scaled:.3g}"


def probability(p: float) -> str:
    """q-values: `<0.001`, `0.034`, MISSING when no test was run."""
    if p is None or not math.isfinite(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def short_commit(commit: str) -> str:
    return commit[:8]
