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
    scaled = number / divisor
    text = f"{scaled:,.0f}" if abs(scaled) >= 1000 else f"{scaled:.3g}"
    return f"{text} {label}".strip()


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


def change(ratio: float) -> str:
    """A ratio as a signed change: `+12.3%`, `-4.0%` (true minus), `x3.10` beyond +200%."""
    if ratio is None or not math.isfinite(ratio):
        return MISSING
    if ratio >= 3:
        return f"{TIMES}{ratio:.2f}"
    percent = (ratio - 1) * 100
    if abs(percent) < 0.05:
        return "±0.0%"
    return f"{'+' if percent > 0 else MINUS}{abs(percent):.1f}%"


def difference(before: float, after: float, unit: str) -> str:
    """An exact change as people read it: `+1 alloc/op (15 → 16)`, `+88 B (64 B → 152 B)`."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return MISSING
    delta = after - before
    sign = "+" if delta > 0 else MINUS if delta < 0 else "±"
    return f"{sign}{value(abs(delta), unit)} ({compact(before, unit)} → {compact(after, unit)})"


def interval(low: float, high: float) -> str:
    """A ratio's interval as changes: `[+8.1%, +15.0%]`."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return MISSING
    return f"[{change(low)}, {change(high)}]"


def probability(p: float) -> str:
    """q-values: `<0.001`, `0.034`, MISSING when no test was run."""
    if p is None or not math.isfinite(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def short_commit(commit: str) -> str:
    return commit[:8]
