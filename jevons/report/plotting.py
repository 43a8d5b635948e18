"""What every chart of the report shares: a figure drawn off screen, its PNG, the axis
formats and one colour per hardware profile.

Figures are made with :class:`matplotlib.figure.Figure` itself, not ``pyplot``: no
global state and no display backend, so a report renders the same on a server, in a
batch job or beside a notebook's own plots.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# At 100 dots per inch a 10-inch figure is 1,000 pixels wide: the page's width, so text
# is drawn at its size in points, neither shrunk nor stretched.
DPI = 100
WIDTH = 10.0  # [inch]
PANEL_HEIGHT = 3.0  # [inch] of one panel in a column of panels
FONT_SIZE = 10
# Sequences spanning more than this factor are drawn on a log axis.
LOG_SPAN = 20.0
# Matplotlib's default cycle: distinct, and readable for the common colour blindnesses.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")

_STYLE = {
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE + 1,
    "axes.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE - 1,
    "xtick.labelsize": FONT_SIZE - 1,
    "ytick.labelsize": FONT_SIZE - 1,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class Chart:
    """One drawn chart: what the page shows above, in and under the image."""

    title: str
    png: bytes
    alt: str  # the image's text for a reader that cannot see it
    caption: str


def colour(k: int) -> str:
    """The colour of the ``k``-th hardware profile, the same in every chart."""
    return COLOURS[k % len(COLOURS)]


P = ParamSpec("P")
R = TypeVar("R")


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Run a chart function under the report's style (font sizes, grid, spines), which
    matplotlib reads while the axes and texts are made and drawn."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return wrapper


def new_figure(rows: int = 1, columns: int = 1, *, height: float | None = None, **kwargs):
    """A figure of ``rows`` x ``columns`` panels, the page's width, laid out so that labels
    never overlap. Returns (figure, 2-d array of axes)."""
    figure = Figure(figsize=(WIDTH, height or PANEL_HEIGHT * rows), dpi=DPI, layout="constrained")
    return figure, figure.subplots(rows, columns, squeeze=False, **kwargs)


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def compact(x: float, prefix: str = "") -> str:
    """``1.5e6`` -> ``"1.5M"``; ``prefix`` goes before the digits (``"$"``)."""
    if not math.isfinite(x):
        return str(x)
    sign = "-" if x < 0 else ""
    x = abs(x)
    for scale, suffix in _SUFFIXES:
        if x >= scale:
            return f"{sign}{prefix}{x / scale:.3g}{suffix}"
    return f"{sign}{prefix}{x:.3g}"


def compact_axis(axis, prefix: str = "") -> None:
    """Tick labels as :func:`compact` figures (an x or y axis)."""
    axis.set_major_formatter(ticker.FuncFormatter(lambda x, _pos: compact(x, prefix)))


def log_if_wide(ax: Axes, values: np.ndarray, which: str = "x") -> bool:
    """Put ``ax``'s x (or y) axis on a log scale where the positive ``values`` span more
    than :data:`LOG_SPAN`; returns whether it did. Only 1, 2 and 5 are labelled: the
    minor ticks' labels crowd each other on a short axis."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size < 2 or positive.max() / positive.min() <= LOG_SPAN:
        return False
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    # 1, 2 and 5 in each decade: a label every few centimetres, even on a short axis
    axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_minor_formatter(ticker.NullFormatter())
    return True


def percent_axis(axis) -> None:
    """Tick labels as percentages of 1, as many digits as each needs: 0.1%, 1%, 50%."""
    axis.set_major_formatter(ticker.FuncFormatter(lambda y, _pos: f"{y * 100:.3g}%"))


def date_axis(ax: Axes) -> None:
    from matplotlib import dates

    locator = dates.AutoDateLocator(maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
