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
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")


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
class Chart:
    """One SVG chart; `kind` picks the template macro ("line", "histogram", "box")."""

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
    return " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))


def line_chart(
    title: str,
    subtitle: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float, str]]]],
    x_labels: Sequence[tuple[float, str]],
    unit: str,
    anchor: str = "",
) -> Chart:
    """History: one line per series over x positions (e.g. commit dates as epoch seconds)."""
    xs = [x for _, pts in series for x, _, _ in pts]
    ys = [y for _, pts in series for _, y, _ in pts]
    sx = _Scale(min(xs), max(xs), LEFT, WIDTH - RIGHT)
    sy = _Scale(min(ys), max(ys), HEIGHT - BOTTOM, TOP, zero=True)
    y_ticks, label = _value_ticks(sy, unit)
    drawn = []
    for i, (name, pts) in enumerate(series):
        points = tuple(Point(sx(x), sy(y), f"{name}: {hover}") for x, y, hover in pts)
        drawn.append(Series(name, PALETTE[i % len(PALETTE)], _path(points), points))
    return Chart(
        kind="line",
        title=title,
        subtitle=subtitle,
        x_ticks=tuple(Tick(sx(x), text) for x, text in _thin(x_labels, 6)),
        y_ticks=y_ticks,
        y_label=label,
        x_label="commit date",
        series=tuple(drawn),
        anchor=anchor,
    )


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
    top = max([*counts, *(modelled or ())], default=1.0)
    sx = _Scale(-0.5, longest + 0.5, LEFT, WIDTH - RIGHT)
    sy = _Scale(0.0, float(top), height - BOTTOM, TOP, zero=True)
    width = max(sx(1) - sx(0) - 2, 1.0)
    bars = tuple(
        Bar(sx(k) - width / 2, sy(c), width, sy(0) - sy(c), f"{k} probes: {c:g} measured")
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
    step = max(1, math.ceil((longest + 1) / 12))
    return Chart(
        kind="histogram",
        title=title,
        subtitle=subtitle,
        x_ticks=tuple(Tick(sx(k), str(k)) for k in range(0, longest + 1, step)),
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
