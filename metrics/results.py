"""Typed results shared by the sections: JSON keys as in SPEC §4."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    """A section's answer. ``scope`` is its provenance (as_of, window, filters)."""

    model_config = ConfigDict(frozen=True)

    section: str
    scope: dict[str, object]


def seconds(total_ms: int | None, count: int | None) -> float | None:
    """Mean duration in seconds (one decimal) from an exact total and count; None if empty."""
    if not count or total_ms is None:
        return None
    return round(total_ms / count / 1000, 1)


def pct_change(current: float | None, previous: float | None) -> float | None:
    """Change in percent (one decimal); None when there is nothing to compare with."""
    if current is None or not previous:
        return None
    return round((current - previous) / previous * 100, 1)


def ratio(part: float, whole: float) -> float | None:
    """``part / whole`` rounded to 4 decimals; None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None
