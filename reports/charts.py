"""Chart geometry for server-side SVG: plain coordinates the templates draw, no drawing here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mapbench import formatting

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 36
# Okabe-Ito: distinguishable with every common colour-vision deficiency.
_PANEL_WIDTH, _PANEL_LEFT = 300, 44  # a history panel (small multiple)
MIN_DOT_GAP = 4.0  # pixels between a history panel's commits below which no dots are drawn
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#f0e442")


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    path: str  # SVG path data through the points
    points: tuple[Point, ...]
    dashed: bool = False


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class BoxRow:
    label: str
    y: float
    low: float  # whisker ends (5th and 95th percentiles)
    high: float
    q1: float
    q3: float
    median: float
    title: str


@dataclass(frozen=True)
class IntervalRow:
    """Input of an interval chart: one labelled estimate with its interval."""

    label: str
    value: float
    low: float  # NaN: no interval (too few samples)
    high: float
    best: bool = False


@dataclass(frozen=True)
class IntervalMark:
    label: str
    y: float
    x: float
    low: float  # pixel ends of the whisker; equal to x when there is no interval
    high: float
    best: bool
    title: str


@dataclass(frozen=True)
class HBar:
    label: str
    y: float
    x0: float
    x1: float
    text: str
    title: str


@dataclass(frozen=True)
class Marker:
    """A vertical mark at one x position: a change point."""

    x: float
    label: str
    title: str


@dataclass(frozen=True)
class Chart:
    """One SVG chart; `kind` picks the template macro ("line", "histogram", "box", ...)."""

    kind: str
    title: str
    subtitle: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    y_label: str
    x_label: str
    series: tuple[Series, ...] = ()
    bars: tuple[Bar, ...] = ()
    boxes: tuple[BoxRow, ...] = ()
    intervals: tuple[IntervalMark, ...] = ()
    hbars: tuple[HBar, ...] = ()
    markers: tuple[Marker, ...] = ()
    reference: float | None = None  # y pixel of a reference line (1x in a relative chart)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    anchor: str = ""


class _Scale:
    """Maps a data interval onto a pixel interval, with round tick values."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, zero: bool = False) -> None:
        if zero:
            lo = min(lo, 0.0)
        if not hi > lo:
            lo, hi = lo - 1 if lo else 0.0, hi + 1 if hi else 1.0
        self.lo, self.hi, self.p0, self.p1 = lo, hi, p0, p1

    def __call__(self, v: float) -> float:
        return round(self.p0 + (v - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0), 1)

    def ticks(self, count: int = 5) -> list[float]:
        step = _nice_step((self.hi - self.lo) / count)
        first = math.ceil(self.lo / step) * step
        return [first + i * step for i in range(count + 2) if first + i * step <= self.hi + 1e-12]


def _nice_step(raw: float) -> float:
    exponent = math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exponent >= raw:
            return float(m * 10**exponent)
    return float(10 ** (exponent + 1))


def _value_ticks(scale: _Scale, unit: str) -> tuple[tuple[Tick, ...], str]:
    """Y ticks in one readable unit for the whole axis."""
    divisor, label = formatting.scale_for(unit, max(abs(scale.lo), abs(scale.hi)))
    ticks = tuple(Tick(scale(v), f"{v / divisor:.3g}") for v in scale.ticks())
    return ticks, label


def _path(points: Sequence[Point]) -> str:
    """SVG path data through the points, at a tenth of a pixel."""
    return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(points))


def _thin(labels: Sequence[tuple[float, str]], keep: int) -> list[tuple[float, str]]:
    """At most `keep` evenly spread labels, so they never overlap."""
    if len(labels) <= keep:
        return list(labels)
    picks = np.linspace(0, len(labels) - 1, keep).round().astype(int)
    return [labels[i] for i in sorted(set(picks))]


def histogram_chart(
    title: str,
    subtitle: str,
    counts: Sequence[float],
    modelled: Sequence[float] | None,
    model_label: str,
    x_label: str,
    anchor: str = "",
    height: int = HEIGHT,
) -> Chart:
    """Measured counts by probe length as bars, with an optional modelled curve over them."""
    longest = len(counts) - 1
    first = 0 if counts and counts[0] else 1  # no search takes 0 probes: the axis starts at 1
    top = max([*counts, *(modelled or ())], default=1.0)
    sx = _Scale(first - 0.5, longest + 0.5, LEFT, WIDTH - RIGHT)
    sy = _Scale(0.0, float(top), height - BOTTOM, TOP, zero=True)
    width = round(max(sx(1) - sx(0) - 2, 1.0), 1)
    bars = tuple(
        Bar(
            round(sx(k) - width / 2, 1),
            sy(c),
            width,
            round(sy(0) - sy(c), 1),
            f"{k} probes: {c:g} measured",
        )
        for k, c in enumerate(counts)
        if c
    )
    series: tuple[Series, ...] = ()
    if modelled is not None:
        points = tuple(
            Point(sx(k), sy(c), f"{k} probes: {c:.1f} modelled")
            for k, c in enumerate(modelled)
            if k >= 1
        )
        series = (Series(model_label, PALETTE[5], _path(points), points, dashed=True),)
    step = max(1, math.ceil((longest + 1 - first) / 12))
    return Chart(
        kind="histogram",
        title=title,
        subtitle=subtitle,
        x_ticks=tuple(Tick(sx(k), str(k)) for k in range(first, longest + 1, step)),
        y_ticks=tuple(Tick(sy(v), f"{v:g}") for v in sy.ticks()),
        y_label="count",
        x_label=x_label,
        series=series,
        bars=bars,
        height=height,
        bottom=height - BOTTOM,
        anchor=anchor,
    )


def box_chart(
    title: str,
    subtitle: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    unit: str,
    anchor: str = "",
) -> Chart:
    """Distributions side by side: 5th-95th percentile whiskers, quartile box, median line."""
    row_height = 28
    height = TOP + BOTTOM + row_height * len(rows)
    every = np.concatenate([np.asarray(s, dtype=float) for _, s in rows])
    lo, hi = np.percentile(every, [0, 99.5])
    sx = _Scale(float(lo), float(hi), LEFT + 70, WIDTH - RIGHT, zero=True)
    divisor, label = formatting.scale_for(unit, float(hi))
    boxes = []
    for i, (name, samples) in enumerate(rows):
        p5, q1, med, q3, p95 = np.percentile(np.asarray(samples, dtype=float), [5, 25, 50, 75, 95])
        boxes.append(
            BoxRow(
                label=name,
                y=TOP + row_height * i + row_height / 2,
                low=sx(p5),
                high=sx(min(p95, hi)),
                q1=sx(q1),
                q3=sx(min(q3, hi)),
                median=sx(min(med, hi)),
                title=f"{name}: median {formatting.value(med, unit)}, "
                f"p95 {formatting.value(p95, unit)}, n={len(samples)}",
            )
        )
    return Chart(
        kind="box",
        title=title,
        subtitle=subtitle,
        x_ticks=tuple(Tick(sx(v), f"{v / divisor:.3g}") for v in sx.ticks()),
        y_ticks=(),
        y_label="",
        x_label=label,
        boxes=tuple(boxes),
        height=height,
        left=LEFT + 70,
        bottom=height - BOTTOM,
        anchor=anchor,
    )


class _LogScale:
    """Maps positive values onto pixels logarithmically (ratios read as equal distances)."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float) -> None:
        lo, hi = math.log10(lo), math.log10(hi)
        pad = max(hi - lo, 0.1) * 0.08
        self.lo, self.hi, self.p0, self.p1 = lo - pad, hi + pad, p0, p1

    def __call__(self, v: float) -> float:
        at = (math.log10(v) - self.lo) / (self.hi - self.lo)
        return round(self.p0 + at * (self.p1 - self.p0), 1)

    def ticks(self) -> list[float]:
        """1-2-5 steps per decade; finer steps when the axis spans less than a decade."""
        decades = range(math.floor(self.lo), math.ceil(self.hi) + 1)
        for mantissas in ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)):
            found = [
                m * 10.0**d
                for d in decades
                for m in mantissas
                if self.lo <= math.log10(m * 10.0**d) <= self.hi
            ]
            if len(found) >= 3:
                return found
        return found


def _log_ticks(scale: _LogScale, unit: str) -> tuple[tuple[Tick, ...], str]:
    """Ticks of a log axis in one readable unit."""
    divisor, label = formatting.scale_for(unit, 10.0**scale.hi)
    return tuple(Tick(scale(v), f"{v / divisor:.3g}") for v in scale.ticks()), label


def _finite(*values: float) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v) and v > 0]


ROW = 20  # pixels per row of a chart with one labelled row per map


def interval_chart(
    title: str, subtitle: str, rows: Sequence[IntervalRow], unit: str, anchor: str = ""
) -> Chart:
    """Each row's estimate as a dot with its interval as a whisker, on a log axis."""
    width, left, top, bottom = 380, 120, 8, 34
    height = top + bottom + ROW * len(rows)
    values = _finite(*(v for r in rows for v in (r.value, r.low, r.high)))
    sx = _LogScale(min(values), max(values), left, width - RIGHT)
    marks = []
    for i, r in enumerate(rows):
        has_interval = bool(_finite(r.low)) and bool(_finite(r.high))
        interval = formatting.value_range(r.low, r.high, unit) if has_interval else "no interval"
        marks.append(
            IntervalMark(
                label=r.label,
                y=top + ROW * i + ROW / 2,
                x=sx(r.value),
                low=sx(r.low) if has_interval else sx(r.value),
                high=sx(r.high) if has_interval else sx(r.value),
                best=r.best,
                title=f"{r.label}: {formatting.value(r.value, unit)} ({interval})"
                + (", fastest" if r.best else ""),
            )
        )
    ticks, label = _log_ticks(sx, unit)
    return Chart(
        kind="interval", title=title, subtitle=subtitle, x_ticks=ticks, y_ticks=(),
        y_label="", x_label=f"{label}, log scale", intervals=tuple(marks), width=width,
        height=height, left=left, right=width - RIGHT, top=top, bottom=height - bottom,
        anchor=anchor,
    )  # fmt: skip


def percentile_chart(
    title: str,
    subtitle: str,
    lines: Sequence[tuple[str, Sequence[float]]],
    positions: Sequence[str],
    unit: str,
    anchor: str = "",
) -> Chart:
    """One line per map across percentile positions (p50 ... max), on a log axis."""
    width, height = 380, 240
    values = _finite(*(v for _, ys in lines for v in ys))
    sx = _Scale(0, max(len(positions) - 1, 1), LEFT, width - RIGHT - 8)
    sy = _LogScale(min(values), max(values), height - BOTTOM, TOP)
    drawn = []
    for i, (name, ys) in enumerate(lines):
        points = tuple(
            Point(sx(k), sy(y), f"{name}: {positions[k]} {formatting.value(y, unit)}")
            for k, y in enumerate(ys)
            if _finite(y)
        )
        color = PALETTE[i % len(PALETTE)]
        drawn.append(Series(name, color, _path(points), points, dashed=i >= len(PALETTE)))
    y_ticks, label = _log_ticks(sy, unit)
    return Chart(
        kind="line", title=title, subtitle=subtitle,
        x_ticks=tuple(Tick(sx(k), text) for k, text in enumerate(positions)),
        y_ticks=y_ticks, y_label=f"{label} (log)", x_label="", series=tuple(drawn),
        width=width, right=width - RIGHT, anchor=anchor,
    )  # fmt: skip


def loglog_chart(
    title: str,
    subtitle: str,
    lines: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    x_label: str,
    unit: str,
    anchor: str = "",
) -> Chart:
    """One line per labelled series of (x, y) points, both axes logarithmic: a power law reads
    as a straight line, its slope as the exponent. Points that are not positive are left out."""
    width, height = 380, 240
    xs = _finite(*(x for _, pts in lines for x, _ in pts))
    ys = _finite(*(y for _, pts in lines for _, y in pts))
    sx = _LogScale(min(xs), max(xs), LEFT, width - RIGHT - 8)
    sy = _LogScale(min(ys), max(ys), height - BOTTOM, TOP)
    drawn = []
    for i, (name, pts) in enumerate(lines):
        points = tuple(
            Point(sx(x), sy(y), f"{name}: {x:,.0f} {x_label}, {formatting.value(y, unit)}")
            for x, y in pts
            if _finite(x) and _finite(y)
        )
        color = PALETTE[i % len(PALETTE)]
        drawn.append(Series(name, color, _path(points), points, dashed=i >= len(PALETTE)))
    y_ticks, label = _log_ticks(sy, unit)
    x_ticks = tuple(Tick(sx(v), f"{v:,.0f}") for v in sx.ticks())
    return Chart(
        kind="line", title=title, subtitle=subtitle, x_ticks=x_ticks, y_ticks=y_ticks,
        y_label=f"{label} (log)", x_label=f"{x_label} (log)", series=tuple(drawn),
        width=width, right=width - RIGHT, anchor=anchor,
    )  # fmt: skip


def bar_chart(
    title: str, subtitle: str, rows: Sequence[tuple[str, float]], unit: str, anchor: str = ""
) -> Chart:
    """Horizontal bars from zero, one per labelled row, each with its value written beside it."""
    width, left, top, bottom = 380, 120, 8, 34
    height = top + bottom + ROW * len(rows)
    high = max((v for _, v in rows), default=1.0)
    sx = _Scale(0.0, high * 1.15, left, width - RIGHT, zero=True)
    bars = tuple(
        HBar(
            label=name,
            y=top + ROW * i + ROW / 2,
            x0=sx(0),
            x1=sx(v),
            text=formatting.value(v, unit),
            title=f"{name}: {formatting.value(v, unit)}",
        )
        for i, (name, v) in enumerate(rows)
    )
    ticks, label = _value_ticks(sx, unit)
    return Chart(
        kind="hbar", title=title, subtitle=subtitle, x_ticks=ticks, y_ticks=(), y_label="",
        x_label=label, hbars=bars, width=width, height=height, left=left,
        right=width - RIGHT, top=top, bottom=height - bottom, anchor=anchor,
    )  # fmt: skip


def history_panel(
    title: str,
    subtitle: str,
    series: Sequence[tuple[str, Sequence[tuple[int, float, str]]]],
    commits: Sequence[str],
    markers: Sequence[tuple[int, str, str]],
    y_range: tuple[float, float] = (1.0, 1.0),
    anchor: str = "",
) -> Chart:
    """A small multiple: ratios to a baseline over commit positions 0..n-1, hashes on the axis.

    `series`: (label, [(commit position, ratio, hover text)]); `markers`: (position, label,
    hover text) of change points, drawn as vertical lines; `y_range` widens the y axis (to the
    range shared by panels meant to be compared).
    """
    width, height, left = _PANEL_WIDTH, 170, _PANEL_LEFT
    ys = [y for _, pts in series for _, y, _ in pts]
    sx = _Scale(0, max(len(commits) - 1, 1), *_panel_x_range())
    sy = _Scale(min([*ys, *y_range, 1.0]), max([*ys, *y_range, 1.0]), height - BOTTOM, TOP)
    dotted = dots_fit(len(commits))
    drawn = []
    for i, (name, pts) in enumerate(series):
        points = tuple(Point(sx(x), sy(y), f"{name}: {hover}") for x, y, hover in pts)
        color = PALETTE[i % len(PALETTE)]
        dots = points if dotted else ()
        drawn.append(Series(name, color, _path(points), dots, dashed=i >= len(PALETTE)))
    shown = _thin(list(enumerate(commits)), 5)
    return Chart(
        kind="line", title=title, subtitle=subtitle,
        x_ticks=tuple(Tick(sx(i), text) for i, text in shown),
        y_ticks=tuple(Tick(sy(v), f"{v:.3g}") for v in sy.ticks(4)),
        y_label="", x_label="", series=tuple(drawn),
        markers=tuple(Marker(sx(x), text, hover) for x, text, hover in markers),
        reference=sy(1.0), width=width, height=height, left=left, right=width - RIGHT,
        bottom=height - BOTTOM, anchor=anchor,
    )  # fmt: skip


def dots_fit(commits: int) -> bool:
    """Whether a history panel of this many commits draws a dot (with its hover text) per
    commit: only while the dots stay apart; a long history is its line and its change-point
    markers, not thousands of overlapping dots."""
    low, high = _panel_x_range()
    return (high - low) / max(commits - 1, 1) >= MIN_DOT_GAP


def _panel_x_range() -> tuple[float, float]:
    """Where a history panel draws its first and its last commit."""
    return _PANEL_LEFT + 22, _PANEL_WIDTH - RIGHT - 22
