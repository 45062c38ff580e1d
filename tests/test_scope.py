"""Scope (SPEC §3): named ranges, explicit windows, as_of and filter validation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.scope import ScopeError, explicit_window, named_window, parse_as_of, resolve_scope
from tests.conftest import Db, write_folder


def d(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "day", "start", "end"),
    [
        ("last_7_days", "2026-03-31", "2026-03-25", "2026-04-01"),
        ("last_30_days", "2026-03-01", "2026-01-31", "2026-03-02"),
        ("last_90_days", "2026-01-01", "2025-10-04", "2026-01-02"),
        ("this_month", "2026-03-31", "2026-03-01", "2026-04-01"),
        ("this_month", "2026-03-01", "2026-03-01", "2026-03-02"),
        ("this_quarter", "2026-06-30", "2026-04-01", "2026-07-01"),
        ("this_year", "2026-12-31", "2026-01-01", "2027-01-01"),
        ("last_month", "2026-01-15", "2025-12-01", "2026-01-01"),
        ("last_month", "2026-03-31", "2026-02-01", "2026-03-01"),
        ("last_quarter", "2026-01-01", "2025-10-01", "2026-01-01"),
        ("last_quarter", "2026-05-20", "2026-01-01", "2026-04-01"),
        ("last_year", "2026-01-01", "2025-01-01", "2026-01-01"),
    ],
)
def test_named_ranges(name: str, day: str, start: str, end: str) -> None:
    window = named_window(name, date.fromisoformat(day))
    assert (window.start, window.end) == (d(start), d(end))


def test_previous_windows() -> None:
    this_month = named_window("this_month", date(2026, 3, 31))
    assert (this_month.previous().start, this_month.previous().end) == (
        d("2026-02-01"),
        d("2026-03-01"),
    )
    partial = named_window("this_month", date(2026, 3, 10))
    assert (partial.previous().start, partial.previous().end) == (d("2026-02-01"), d("2026-02-11"))
    last_quarter = named_window("last_quarter", date(2026, 5, 1))
    assert (last_quarter.previous().start, last_quarter.previous().end) == (
        d("2025-10-01"),
        d("2026-01-01"),
    )
    week = named_window("last_7_days", date(2026, 3, 31))
    assert (week.previous().start, week.previous().end) == (d("2026-03-18"), d("2026-03-25"))


def test_explicit_window_is_inclusive_of_to() -> None:
    window = explicit_window("2026-03-01", "2026-03-31")
    assert (window.start, window.end) == (d("2026-03-01"), d("2026-04-01"))
    with pytest.raises(ScopeError, match=r"from \(2026-04-01\) is after to \(2026-03-31\)"):
        explicit_window("2026-04-01", "2026-03-31")
    with pytest.raises(ScopeError, match="to: '31/03/2026' is not a date"):
        explicit_window("2026-03-01", "31/03/2026")


def test_as_of_forms() -> None:
    assert parse_as_of("2026-03-31") == (d("2026-04-01"), date(2026, 3, 31))
    assert parse_as_of("2026-03-31T12:00:00+02:00") == (d("2026-03-31T10:00:00"), date(2026, 3, 31))
    assert parse_as_of("2026-04-01T00:00:00Z") == (d("2026-04-01"), date(2026, 4, 1))
    with pytest.raises(ScopeError, match="as_of: 'yesterday' is not a date"):
        parse_as_of("yesterday")


def test_resolve_validates_names(db: Db, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "in",
        {
            "team_members.csv": "member_id,name,email\ntm1,Jane Doe,jane@x.test\ntm2,Jane Roe,",
            "accounts.csv": "account_id,name,kind\nacme,Acme Corp,customer",
            "projects.csv": "project_id,account_id,name,status,playbook\np1,acme,Rollout,live,SMB",
        },
    )
    import_folder(db.engine, folder, workspace=db.workspace)
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        scope = resolve_scope(
            conn,
            ws,
            as_of="2026-03-31",
            range="LAST_MONTH",
            owner="jane@x.test",
            accounts=["acme corp"],
            playbook="smb",
            status=["Live"],
            projects=["Rollout"],
        )
        assert scope.filters.as_dict() == {
            "owner": "tm1",
            "accounts": ("acme",),
            "playbook": "SMB",
            "status": ("live",),
            "projects": ("p1",),
        }
        assert scope.until == d("2026-03-01")
        with pytest.raises(ScopeError, match="unknown range 'last_fortnight'"):
            resolve_scope(conn, ws, range="last_fortnight")
        with pytest.raises(
            ScopeError,
            match=r"owner 'Jane' matches several: 'Jane Doe' \(tm1\); 'Jane Roe' \(tm2\)",
        ):
            resolve_scope(conn, ws, owner="Jane")
        with pytest.raises(ScopeError, match="unknown account 'Acne'; did you mean 'Acme Corp'"):
            resolve_scope(conn, ws, accounts=["Acne"])
        with pytest.raises(ScopeError, match="unknown status 'done'"):
            resolve_scope(conn, ws, status=["done"])
        with pytest.raises(ScopeError, match="either a named range or from/to"):
            resolve_scope(conn, ws, range="this_month", start="2026-03-01", end="2026-03-02")
