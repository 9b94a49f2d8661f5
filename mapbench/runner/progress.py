"""What people see while a run goes: one line per finished benchmark, then a summary table."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from mapbench.case import CaseId
from mapbench.formatting import value
from mapbench.schema import Status
from mapbench.text_tables import format_table
from mapbench.thresholds import HEADLINE, STATISTICS

_CLEAR = "\r\033[K"  # carriage return, then erase to the end of the line


@dataclass(frozen=True)
class CaseOutcome:
    """How one case went on one interpreter: status, error, timings (s/op) and metric count."""

    case: CaseId
    python: str
    status: Status
    error: str | None
    seconds_per_op: tuple[float, ...] = ()
    metrics: int = 0
    elapsed: float = 0.0

    @property
    def headline(self) -> float | None:
        """The headline statistic of the times (the report's too: `thresholds.HEADLINE`)."""
        if not self.seconds_per_op:
            return None
        import numpy as np  # only once results exist: the CLI starts without it

        return float(np.percentile(self.seconds_per_op, STATISTICS[HEADLINE]))


class Progress:
    """A counter with elapsed time and an estimate of the rest, written to a stream.

    On a terminal the "running ..." line is redrawn in place; in a log every line stays.
    """

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._live = self.stream.isatty()

    def start(self, what: str) -> None:
        if self._live:
            self._write(f"{_CLEAR}{self._prefix()} running {what}", end="")

    def finish(self, result: CaseOutcome) -> None:
        self.done += 1
        outcome = result.status if result.status != "ok" else value(result.headline, "s")
        if result.error:
            outcome += f": {result.error}"
        name = f"{result.case} [py{result.python}]"
        self._write(f"{_CLEAR if self._live else ''}{self._prefix()} {name}  {outcome}")

    def note(self, message: str) -> None:
        self._write((_CLEAR if self._live else "") + message)

    def _prefix(self) -> str:
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        width = len(str(self.total))
        bar = _bar(self.done / self.total if self.total else 1.0)
        rest = f" eta {_clock(eta)}" if eta is not None else ""
        return f"[{self.done:>{width}}/{self.total}] {bar} {_clock(elapsed)}{rest}"

    def _write(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=self.stream, flush=True)


def summary(results: Sequence[CaseOutcome], skipped: Sequence[str] = ()) -> str:
    """A table of every case (time per operation, or why it failed) and a status count."""
    rows = [
        (
            r.case.map,
            r.case.workload,
            r.case.key_kind,
            r.case.size,
            r.python,
            r.status,
            value(r.headline, "s"),
            r.metrics,
            (r.error or "")[:80],
        )
        for r in results
    ]
    headers = ("map", "workload", "keys", "size", "python", "status", f"time/op ({HEADLINE})",
               "metrics", "error")  # fmt: skip
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "failed", "timeout")}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items()) + f", {len(skipped)} skipped"
    lines = [
        format_table(headers, rows),
        f"time/op: the {HEADLINE} of pyperf's values; metrics: figures the collector pass recorded",
        "",
        tally,
    ]
    # Many cases share a reason (every size and key kind of one map and workload): say it once.
    reasons = Counter(why.partition("]: ")[2] or why for why in skipped)
    lines += [
        f"  skipped: {why}" + (f" ({n} cases)" if n > 1 else "") for why, n in reasons.items()
    ]
    return "\n".join(lines)


def _bar(fraction: float, width: int = 20) -> str:
    filled = round(fraction * width)
    return "#" * filled + "." * (width - filled)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"
