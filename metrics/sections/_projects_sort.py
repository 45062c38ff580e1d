"""Sorting table rows by any column: nulls last in both directions, deterministic ties."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

Row = TypeVar("Row", bound=BaseModel)


def sort_key(value: Any) -> Any:
    """A comparable key: text case-insensitively (then exactly), objects by their ``at``."""
    if isinstance(value, str):
        return (value.casefold(), value)
    if isinstance(value, BaseModel) and hasattr(value, "at"):
        return value.at
    return value


def sort_rows(
    rows: Sequence[Row],
    column: str,
    descending: bool,
    columns: Sequence[str],
    ties: Callable[[Row], tuple],
) -> list[Row]:
    """``rows`` ordered by ``column`` (nulls last either way), equal values by ``ties``.

    Raises ValueError naming the valid columns when ``column`` is not one of ``columns``.
    """
    if column not in columns:
        raise ValueError(f"cannot sort by {column!r}: use one of {', '.join(columns)}")
    present = [r for r in rows if getattr(r, column) is not None]
    missing = sorted((r for r in rows if getattr(r, column) is None), key=ties)
    if descending:  # ties stay ascending: sort by them first, then stably by the value
        present.sort(key=ties)
        present.sort(key=lambda r: sort_key(getattr(r, column)), reverse=True)
    else:
        present.sort(key=lambda r: (sort_key(getattr(r, column)), ties(r)))
    return present + missing
