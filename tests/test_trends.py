"""Trends: worked examples per bucket size, edge cases, and SQL against the reference."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.sections import kpis, trends
from tests.conftest import Db
from tests.reference import load
from tests.reference_projects import TREND_KEYS, ref_trends
from tests.strategies import load_dataset, scope_for
from tests.test_projects import WEEK, load_folder, run_section, scoped_dataset

ZERO = dict.fromkeys(TREND_KEYS, 0)


def _series(result: trends.TrendsResult) -> dict[date, dict[str, int]]:
    return {row.period: row.model_dump(exclude={"period"}) for row in result.series}


def test_daily_buckets_for_a_short_window(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    result = run_section(db, trends, WEEK)
    assert result.bucket == "day"  # 6 days
    series = _series(result)
    assert list(series) == [date(2026, 3, d) for d in range(1, 7)]
    # u2's session starts 03-05 23:50: counted on 03-05, its page view and action
    # (00:10, 00:20) on 03-06. i5, e11 and t2 at 03-07 00:00 are outside the window.
    assert series[date(2026, 3, 1)] == {
        **ZERO,
        "invites_sent": 1,
        "logins": 1,
        "sessions": 1,
        "page_views": 1,
        "actions": 1,
        "unique_users": 1,
    }
    assert series[date(2026, 3, 2)] == {**ZERO, "invites_sent": 1}
    assert series[date(2026, 3, 3)] == {**ZERO, "invites_sent": 1}
    assert series[date(2026, 3, 4)] == ZERO
    assert series[date(2026, 3, 5)] == {
        **ZERO,
        "invites_sent": 1,
        "logins": 1,
        "sessions": 1,
        "unique_users": 1,
    }
    assert series[date(2026, 3, 6)] == {
        **ZERO,
        "logins": 1,
        "sessions": 2,
        "tasks_completed": 1,
        "page_views": 2,
        "actions": 2,
        "unique_users": 2,
    }


def test_weeks_count_only_in_window_days(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    scope = {"as_of": "2026-03-10", "start": "2026-02-25", "end": "2026-03-10"}
    result = run_section(db, trends, scope)
    assert result.bucket == "week"  # 14 days
    series = _series(result)
    # 02-25 is a Wednesday: its ISO week is labelled Monday 02-23 and holds 02-25..03-01.
    assert list(series) == [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)]
    # Week of 02-23: e12 (02-24, before the window) is left out; Ann's two sessions
    # (02-28 23:59 and 03-01 09:00) are one unique user.
    assert series[date(2026, 2, 23)] == {
        **ZERO,
        "invites_sent": 2,
        "logins": 2,
        "sessions": 2,
        "page_views": 1,
        "actions": 1,
        "unique_users": 1,
    }
    assert series[date(2026, 3, 2)] == {
        "invites_sent": 4,
        "logins": 2,
        "sessions": 4,
        "tasks_completed": 2,
        "page_views": 2,
        "actions": 3,
        "unique_users": 3,
    }
    assert series[date(2026, 3, 9)] == ZERO


def test_months_and_given_buckets(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    quarter = run_section(db, trends, {"as_of": "2026-03-06", "range": "last_90_days"})
    assert quarter.bucket == "month"
    months = _series(quarter)
    assert list(months) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert months[date(2026, 2, 1)]["logins"] == 2  # e12, e7
    assert months[date(2026, 3, 1)]["logins"] == 3
    by_month = run_section(db, trends, WEEK, bucket="month")
    assert [r.period for r in by_month.series] == [date(2026, 3, 1)]
    by_week = run_section(db, trends, WEEK, bucket="Week")
    assert by_week.bucket == "week"
    assert [r.period for r in by_week.series] == [date(2026, 2, 23), date(2026, 3, 2)]
    assert by_week.series[0].logins == 1  # only 03-01 of that week is in the window
    # Window length decides: under 14 days daily, 14 to 60 weekly, longer monthly.
    for first, size in [("2026-02-22", "day"), ("2026-01-06", "week"), ("2026-01-05", "month")]:
        window = {"as_of": "2026-03-06", "start": first, "end": "2026-03-06"}
        assert run_section(db, trends, window).bucket == size, first
    with pytest.raises(ValueError, match=r"unknown bucket 'hour': use one of day, week, month"):
        run_section(db, trends, WEEK, bucket="hour")


def test_partial_last_day_and_empty_windows(db: Db, tmp_path: Path) -> None:
    load_folder(db, tmp_path)
    morning = _series(run_section(db, trends, {**WEEK, "as_of": "2026-03-06T06:00:00Z"}))
    assert list(morning)[-1] == date(2026, 3, 6)
    # Until 06:00 on 03-06: the page view at 00:10 and action at 00:20 count, nothing later.
    assert morning[date(2026, 3, 6)] == {**ZERO, "page_views": 1, "actions": 1}
    quiet = run_section(db, trends, {"as_of": "2026-03-20", "range": "last_7_days"})
    assert [r.period for r in quiet.series] == [date(2026, 3, d) for d in range(14, 21)]
    assert all(r.model_dump(exclude={"period"}) == ZERO for r in quiet.series)
    future = run_section(
        db, trends, {"as_of": "2026-03-06", "start": "2026-03-10", "end": "2026-03-12"}
    )
    assert future.series == []  # the window starts after as_of: nothing to show


@settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_trends_match_reference_and_add_up_to_kpis(db: Db, data: st.DataObject) -> None:
    dataset, kwargs = scoped_dataset(data)
    ws = load_dataset(db.engine, dataset)
    bucket = data.draw(st.sampled_from([None, "day", "week", "month"]))
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = trends.compute(conn, scope, bucket=bucket)
        cards = kpis.values(conn, scope).model_dump()
        ref = load(conn, ws)
    expected = ref_trends(ref, scope, bucket)
    assert got.bucket == expected["bucket"]
    assert [r.model_dump() for r in got.series] == expected["series"]
    for key in TREND_KEYS:
        total = sum(getattr(r, key) for r in got.series)
        if key == "unique_users":  # distinct per bucket: at least the window's, each at most
            assert total >= cards[key]
            assert all(r.unique_users <= cards[key] for r in got.series)
        else:
            assert total == cards[key], key
