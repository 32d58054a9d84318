"""Server-side SVG charts for the workload pages (issue 15): geometry only, drawn by
templates/workload/chart.html with presentation attributes (no `style`, no script), so the
strict CSP stands. Every chart has a data table beside it on its page; the SVG is `role=img`
with a title and description for those who cannot see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["COLOURS", "Bar", "Chart", "bar_chart"]

#: GOV.UK Design System colours (contrast at least 3:1 against white for graphics).
COLOURS = ("#1d70b8", "#f47738", "#d4351c", "#00703c", "#4c2c92")
WIDTH, HEIGHT = 640, 240
LEFT, BOTTOM, TOP = 48, 40, 16


@dataclass(frozen=True)
class Bar:
    """One rectangle of a bar (one series' part of it)."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str  # what the rectangle stands for, for its <title>


@dataclass(frozen=True)
class Chart:
    """A bar chart: rectangles, the category labels under them, a y scale and a legend."""

    title: str
    description: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x centre, text)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, text)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, series name)
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return float(step * 4)
    return float(value)


def bar_chart(
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    unit: str = "",
) -> Chart:
    """Stacked bars: one per category, one coloured part per series."""
    count = max(len(categories), 1)
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - BOTTOM - TOP
    top = _nice_max(max((sum(v[i] for _, v in series) for i in range(len(categories))), default=0))
    slot = plot_w / count
    bar_w = max(slot * 0.6, 2)
    baseline = float(HEIGHT - BOTTOM)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    every = max(1, count // 12)
    for i, category in enumerate(categories):
        x = LEFT + i * slot + (slot - bar_w) / 2
        y = baseline
        for j, (name, values) in enumerate(series):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            text = f"{category}: {name} {value:g}{unit}"
            bars.append(
                Bar(
                    round(x, 1),
                    round(y, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    COLOURS[j % len(COLOURS)],
                    text,
                )
            )
        if i % every == 0:
            labels.append((round(x + bar_w / 2, 1), category))
    ticks = [(round(baseline - plot_h * k / 4, 1), f"{top * k / 4:g}") for k in range(5)]
    legend = [(COLOURS[j % len(COLOURS)], name) for j, (name, _) in enumerate(series)]
    return Chart(title, description, WIDTH, HEIGHT, bars, labels, ticks, legend, LEFT, baseline)
