"""The one formatter (metrics/formatting.py) and the CLI tables that use it."""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from metrics.formatting import FORMATS, format_field, format_for, format_value

CASES = [
    (1234, "count", "1,234"),
    (0, "count", "0"),
    (1234.56, "number", "1,234.6"),
    (0.1, "number", "0.1"),
    (741.7, "seconds", "12m 22s"),
    (45, "seconds", "45s"),
    (0, "seconds", "0s"),
    (3900, "seconds", "1h 05m"),
    (0.727, "percent", "72.7%"),
    (0, "percent", "0%"),
    (1, "percent", "100%"),
    (0.5, "percent", "50%"),
    ("2026-11-22", "date", "22 Nov 2026"),
    ("2026-11-22T12:50:33.123456Z", "date", "22 Nov 2026"),
    ("2026-11-22T12:50:33.123456Z", "datetime", "22 Nov 2026 12:50"),
    ("2026-11-22T23:30:00-02:00", "datetime", "23 Nov 2026 01:30"),
    (datetime(2026, 3, 1, 9, 5, tzinfo=UTC), "datetime", "1 Mar 2026 09:05"),
    (date(2026, 3, 1), "datetime", "1 Mar 2026"),
    (1234.5, "currency", "1,234.50"),
    (87.25, "score", "87.2"),
    (100, "score", "100.0"),
    ("in_progress", "text", "In progress"),
    ("link_click", "text", "Link click"),
    ("Acme Corp", "text", "Acme Corp"),
    (None, "seconds", "—"),
    (None, "text", "—"),
    (True, "count", "yes"),
]


@pytest.mark.parametrize(("value", "fmt", "shown"), CASES)
def test_format_value(value: object, fmt: str, shown: str) -> None:
    assert format_value(value, fmt) == shown


def test_the_format_names_are_the_semantic_layers() -> None:
    assert FORMATS == (
        "count", "number", "seconds", "percent", "date", "datetime", "currency", "score", "text",
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown display format 'duration'"):
        format_value(1, "duration")


def test_no_datetime_is_shown_as_iso_with_microseconds() -> None:
    shown = format_value("2026-12-02T19:23:53.172818Z", "datetime")
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\.\d{6}", shown)


def test_field_formats_follow_the_names_of_the_results() -> None:
    assert format_for("avg_session_seconds") == "seconds"
    assert format_for("conversion") == "percent"
    assert format_for("self_service_rate") == "percent"
    assert format_for("invited_at") == "datetime"
    assert format_for("due_on") == "date"
    assert format_for("status", "in_progress") == "text"
    assert format_for("sessions", 12) == "count"
    assert format_for("project", "Acme — Rollout") is None
    assert format_field("project", "acme_rollout") == "acme_rollout"  # names are never reworded
    assert format_field("weight", 0.1) == "0.1"  # not a duration


def test_cli_tables_at_80_columns_keep_every_number_whole() -> None:
    from cli.render import table

    rows = [
        {
            "project": f"Ambervale Biotechnologies International — Data migration phase {i}",
            "status": "in_progress",
            "sessions": 1_234_567 + i,
            "avg_session_seconds": 741.7,
            "conversion": 0.727,
            "last_visit": datetime(2026, 11, 22, 12, 50, 33, 123456, tzinfo=UTC),
            "tasks_overdue": 12_345,
            "account": "Ambervale Biotechnologies International",
            "owner": "Quentin Valdez-Montgomery",
        }
        for i in range(3)
    ]
    columns = list(rows[0])
    built, hidden = table("projects", rows, columns, 80)
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(built)
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    shown = [c for c in columns if c not in hidden]
    assert {"project", "status", "sessions", "avg_session_seconds"} <= set(shown)
    for value in ("1,234,567", "1,234,569", "12m 22s", "In progress"):
        assert value in text, value
    if "conversion" in shown:
        assert "72.7%" in text
    if "last_visit" in shown:
        assert "22 Nov 2026 12:50" in text
    assert "…" not in text
    words = " ".join(text.split())
    assert "Ambervale" in words and "migration" in words  # names wrap, never cut


def test_cli_render_names_hidden_columns(capsys: pytest.CaptureFixture[str]) -> None:
    from pydantic import BaseModel

    from cli.render import render

    class Result(BaseModel):
        section: str = "projects"
        scope: dict = {
            "from": "2026-11-01T00:00:00Z",
            "to": "2026-11-22T10:00:00.123456Z",
            "last_day": "2026-11-22",
            "as_of": "2026-11-22T10:00:00.123456Z",
        }
        projects: list[dict]

    rows = [
        {k: 1_000_000 for k in ("invited", "logged_in", "sessions", "tasks_completed")}
        | {"project": "P", "status": "live", "avg_session_seconds": 61.0, "tasks_overdue": 3}
        | {"tasks_unassigned": 4, "last_visit": None, "account": "A", "owner": "O"}
    ]
    render(Result(projects=rows), Console(file=sys.stdout, width=80))
    out = capsys.readouterr().out
    first = "projects · 1 Nov 2026 – 22 Nov 2026 · as of 22 Nov 2026 10:00 UTC"
    assert out.splitlines()[0] == first
    assert "Not shown at 80 columns:" in out
    assert "1m 01s" in out and "Live" in out
