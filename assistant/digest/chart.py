"""The digest's small trend chart: weekly visits and active users as a PNG (matplotlib, Agg).

Mail clients show a PNG attached inline (``cid:``) reliably, unlike SVG or
scripts, so the chart is drawn on the server. The Agg backend needs no display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from assistant.digest.model import TrendPoint

BLUE = "#2563eb"
GREY = "#94a3b8"
AMBER = "#f59e0b"


def trend_png(points: Sequence[TrendPoint], *, width_px: int = 560, height_px: int = 180) -> bytes:
    """Bars of weekly visits (this week highlighted) and a line of active users.

    One axis serves both series (active users never outnumber visits: each has at least
    one), and the margins are fixed rather than computed by ``tight_layout`` — text
    layout is most of matplotlib's time, and a digest run draws one chart per recipient.
    """
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    figure.subplots_adjust(left=0.07, right=0.99, top=0.86, bottom=0.14)
    axes = figure.add_subplot()
    x = list(range(len(points)))
    colors = [GREY] * max(len(points) - 1, 0) + [BLUE] * bool(points)
    axes.bar(x, [p.sessions for p in points], color=colors, width=0.6)
    axes.plot(x, [p.unique_users for p in points], color=AMBER, marker="o", linewidth=1.5)
    axes.set_xticks(x, [f"{p.week.day} {p.week:%b}" for p in points], fontsize=7)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
    axes.tick_params(axis="y", labelsize=7)
    axes.set_ylim(bottom=0)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.text(0.07, 0.92, "Visits per week (bars) and active users (line)", fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
