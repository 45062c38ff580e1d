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

from assistant.digest.content import TrendPoint

BLUE = "#2563eb"
GREY = "#94a3b8"


def trend_png(points: Sequence[TrendPoint], *, width_px: int = 560, height_px: int = 180) -> bytes:
    """Bars of weekly visits (this week highlighted) and a line of active users."""
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    axes = figure.add_subplot()
    labels = [f"{p.week.day} {p.week:%b}" for p in points]
    x = list(range(len(points)))
    colors = [GREY] * max(len(points) - 1, 0) + [BLUE] * bool(points)
    axes.bar(x, [p.sessions for p in points], color=colors, width=0.6, label="Visits")
    users = axes.twinx()
    users.plot(x, [p.unique_users for p in points], color="#f59e0b", marker="o", linewidth=1.5)
    users.set_ylim(bottom=0)
    users.tick_params(labelsize=7, colors="#b45309")
    axes.set_xticks(x, labels, fontsize=7)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_ylim(bottom=0)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    users.spines["top"].set_visible(False)
    axes.set_title("Visits per week (bars) and active users (line)", fontsize=8, loc="left")
    figure.tight_layout(pad=0.4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
