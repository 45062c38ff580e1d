"""Partner leaderboard: worked examples, sorting and paging, and SQL against the reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.scope import resolve_scope
from metrics.sections import leaderboard
from tests.conftest import Db, write_folder
from tests.reference import load
from tests.reference_partners import ref_leaderboard, ref_sorted
from tests.strategies import datasets, load_dataset, scope_for, scopes

FOLDER = {
    "team_members.csv": "member_id,name\ntm1,Jane Doe\ntm2,Raj Patel",
    "accounts.csv": """
        account_id,name,kind,partner_type,owner_id
        acme,Acme,customer,,tm1
        bp,BrightPath,partner,reseller,tm2
        cz,Cobalt,partner,referral,tm1
        dx,Delta,partner,referral,
        ex,Echo,partner,reseller,tm2
        zz,Alpha,partner,reseller,tm1
    """,
    "projects.csv": "project_id,account_id,name,status\np1,acme,Rollout,in_progress",
    "users.csv": """
        user_id,account_id,name
        u1,bp,Ann
        u2,bp,Bob
        u3,cz,Cy
        u4,dx,Di
        u5,acme,Ed
    """,
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type,action,device
        e1,u1,,2026-03-02T10:00:00Z,login,,desktop
        e2,u1,,2026-03-02T10:10:00Z,page_view,,desktop
        e3,u1,,2026-03-02T10:20:00Z,page_view,,desktop
        e4,u1,,2026-03-03T09:00:00Z,login,,desktop
        e5,u2,,2026-03-04T12:00:00Z,login,,mobile
        e6,u2,,2026-03-04T12:30:00Z,page_view,,mobile
        e7,u3,,2026-03-05T08:00:00Z,login,,desktop
        e8,u3,,2026-03-05T08:20:00Z,page_view,,desktop
        e9,u3,,2026-03-05T08:40:00Z,page_view,,desktop
        e10,u3,,2026-03-05T09:00:00Z,page_view,,desktop
        e11,u4,,2026-02-28T23:59:00Z,login,,desktop
        e12,u4,,2026-03-01T00:05:00Z,page_view,,desktop
        e13,u1,p1,2026-03-02T11:00:00Z,page_view,,desktop
        e14,u5,,2026-03-02T11:00:00Z,page_view,,desktop
        e15,u3,,2026-03-07T00:00:00Z,login,,desktop
    """,
}
# Window [03-01, 03-07):
# bp: u1 sessions 10:00–10:20 (1200 s) and 09:00 (0 s); u2 12:00–12:30 (exactly 30 min
#     idle continues: 1800 s) → users 2, sessions 3, page views 3, mean 1000 s.
#     e13 is in a project portal and does not count.
# cz: u3 08:00–09:00 (3600 s) → users 1, sessions 1, page views 3, mean 3600 s;
#     e15 at the window end starts a session outside the window.
# dx: u4's session starts on 02-28 (previous window) but e12 is a page view in the window.
# ex (Echo) and zz (Alpha): no activity. u5 is a customer user: in no row.
# Maxima: sessions 3, users 2, page views 3, mean 3600 s.
ROWS = [
    # 100 × (0.4 + 0.3 + 0.2 + 0.1 × 1000/3600) = 92.78 → 92.8
    ("bp", 2, 3, 3, 1000.0, 92.8, {"sessions": 1.0, "users": 1.0, "page_views": 1.0,
                                   "avg_session_seconds": 0.2778}),
    # 100 × (0.4/3 + 0.3/2 + 0.2 + 0.1) = 58.33 → 58.3
    ("cz", 1, 1, 3, 3600.0, 58.3, {"sessions": 0.3333, "users": 0.5, "page_views": 1.0,
                                   "avg_session_seconds": 1.0}),
    # 100 × 0.2/3 = 6.67 → 6.7
    ("dx", 0, 0, 1, None, 6.7, {"sessions": 0.0, "users": 0.0, "page_views": 0.3333,
                                "avg_session_seconds": 0.0}),
    # Ties at 0 are ordered by name: Alpha before Echo, with distinct ranks.
    ("zz", 0, 0, 0, None, 0.0, dict.fromkeys(leaderboard.WEIGHTS, 0.0)),
    ("ex", 0, 0, 0, None, 0.0, dict.fromkeys(leaderboard.WEIGHTS, 0.0)),
]  # fmt: skip
WINDOW = {"as_of": "2026-03-06", "start": "2026-03-01", "end": "2026-03-06"}


def _load(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", FOLDER), workspace=db.workspace)


def _board(db: Db, options: dict | None = None, **scope: object) -> leaderboard.LeaderboardResult:
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        return leaderboard.compute(conn, resolve_scope(conn, ws, **scope), **(options or {}))


def test_worked_example_scores_and_ranks(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    result = _board(db, **WINDOW)
    got = [
        (r.partner_id, r.users, r.sessions, r.page_views, r.avg_session_seconds, r.score,
         r.why.model_dump())
        for r in result.rows
    ]  # fmt: skip
    assert got == ROWS
    assert [r.rank for r in result.rows] == [1, 2, 3, 4, 5]
    first = result.rows[0]
    assert (first.partner, first.partner_type, first.owner_id, first.owner) == (
        "BrightPath",
        "reseller",
        "tm2",
        "Raj Patel",
    )
    assert (result.rows[2].owner_id, result.rows[2].owner) == (None, None)
    # 1200 + 0 + 1800 + 3600 seconds over 4 sessions; users add up over partners.
    assert result.footer.model_dump() == {
        "users": 3,
        "sessions": 4,
        "page_views": 7,
        "avg_session_seconds": 1650.0,
    }
    assert (result.total_rows, result.page, result.pages, result.page_size) == (5, 1, 1, 25)
    assert (result.sort, result.descending) == ("rank", False)


@pytest.mark.parametrize(
    ("sort", "descending", "order"),
    [
        ("rank", True, ["ex", "zz", "dx", "cz", "bp"]),
        # Equal values keep rank order, in both directions.
        ("sessions", True, ["bp", "cz", "dx", "zz", "ex"]),
        ("sessions", False, ["dx", "zz", "ex", "cz", "bp"]),
        ("page_views", False, ["zz", "ex", "dx", "bp", "cz"]),
        # No mean duration (null) sorts last either way.
        ("avg_session_seconds", False, ["bp", "cz", "dx", "zz", "ex"]),
        ("avg_session_seconds", True, ["cz", "bp", "dx", "zz", "ex"]),
        ("owner", True, ["bp", "ex", "cz", "zz", "dx"]),
        ("partner", False, ["zz", "bp", "cz", "dx", "ex"]),
    ],
)
def test_sort_any_column_either_way(
    db: Db, tmp_path: Path, sort: str, descending: bool, order: list[str]
) -> None:
    _load(db, tmp_path)
    result = _board(db, {"sort": sort, "descending": descending}, **WINDOW)
    assert [r.partner_id for r in result.rows] == order
    # Sorting never changes score or rank.
    assert {r.partner_id: r.rank for r in result.rows} == {
        "bp": 1,
        "cz": 2,
        "dx": 3,
        "zz": 4,
        "ex": 5,
    }


def test_pages_and_invalid_options(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    pages = [_board(db, {"page": n, "page_size": 2}, **WINDOW) for n in (1, 2, 3, 4)]
    assert [[r.partner_id for r in p.rows] for p in pages] == [
        ["bp", "cz"],
        ["dx", "zz"],
        ["ex"],
        [],
    ]
    assert {(p.total_rows, p.pages) for p in pages} == {(5, 3)}
    assert pages[2].rows[0].rank == 5  # ranks are over all partners, not the page
    assert pages[3].footer == pages[0].footer  # the footer covers all partners
    with pytest.raises(ValueError, match="cannot sort the leaderboard by 'name'"):
        _board(db, {"sort": "name"}, **WINDOW)
    with pytest.raises(ValueError, match="page must be 1 or more"):
        _board(db, {"page": 0}, **WINDOW)


def test_filters_rescore_among_partners_in_scope(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    referral = _board(db, **WINDOW, partner_type="referral")
    # Cobalt now holds every maximum; Delta's 1 page view is a third of Cobalt's 3.
    assert [(r.partner_id, r.score, r.rank) for r in referral.rows] == [
        ("cz", 100.0, 1),
        ("dx", 6.7, 2),
    ]
    owned = _board(db, **WINDOW, owner="Raj Patel")
    assert [(r.partner_id, r.score) for r in owned.rows] == [("bp", 100.0), ("ex", 0.0)]
    projects_only = _board(db, **WINDOW, status=["in_progress"])
    assert (projects_only.rows, projects_only.total_rows, projects_only.pages) == ([], 0, 0)
    assert projects_only.footer.avg_session_seconds is None


def test_empty_window_ranks_everyone_by_name(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    result = _board(db, as_of="2026-03-20", range="last_7_days")
    assert [(r.partner, r.score, r.rank) for r in result.rows] == [
        ("Alpha", 0.0, 1),
        ("BrightPath", 0.0, 2),
        ("Cobalt", 0.0, 3),
        ("Delta", 0.0, 4),
        ("Echo", 0.0, 5),
    ]
    assert result.footer.model_dump() == {
        "users": 0,
        "sessions": 0,
        "page_views": 0,
        "avg_session_seconds": None,
    }


def test_as_of_inside_a_day_counts_only_what_happened_before(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    result = _board(db, as_of="2026-03-04T12:15:00Z", start="2026-03-01", end="2026-03-06")
    bp = next(r for r in result.rows if r.partner_id == "bp")
    # u2's session started at 12:00 (counted); its page view at 12:30 is after as_of.
    assert (bp.sessions, bp.page_views, bp.users) == (3, 2, 2)
    cz = next(r for r in result.rows if r.partner_id == "cz")
    assert cz.sessions == 0 and cz.score == 0.0


def test_score_rounds_half_up(db: Db, tmp_path: Path) -> None:
    # Big: 8 sessions of 10 page views each, all at one instant (0 s); Small: 1 session with
    # 1 page view. Small scores 100 × (0.4 × 1/8 + 0.3 × 1 + 0.2 × 1/80) = 35.25 exactly,
    # which rounds half up to 35.3 (round-half-even would give 35.2).
    events = ["event_id,user_id,project_id,occurred_at,type"]
    for s in range(8):
        events += [f"b{s}_{i},ub,,2026-03-02T{s:02d}:00:00Z,page_view" for i in range(10)]
    events.append("s1,us,,2026-03-02T12:00:00Z,page_view")
    files = {
        "accounts.csv": "account_id,name,kind,partner_type\nbig,Big,partner,\nsm,Small,partner,",
        "users.csv": "user_id,account_id,name\nub,big,B\nus,sm,S",
        "events.csv": "\n".join(events),
    }
    import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    result = _board(db, **WINDOW)
    assert [(r.partner, r.sessions, r.page_views, r.score) for r in result.rows] == [
        ("Big", 8, 80, 90.0),
        ("Small", 1, 1, 35.3),
    ]
    assert result.rows[1].why.page_views == 0.0125
    assert result.rows[1].avg_session_seconds == 0.0


# -- property test ---------------------------------------------------------------------


@st.composite
def partner_datasets(draw: st.DrawFn) -> dict:
    """Random datasets with more partners, repeated names and partner-portal activity."""
    data = draw(datasets())
    for account in data["accounts.csv"]:
        if draw(st.integers(0, 3)):
            account["kind"] = "partner"
            account["partner_type"] = draw(st.sampled_from(["referral", "reseller"]))
        account["name"] = draw(st.sampled_from(["Zeta", "Alpha", "alpha", "Mid"]))
    customers = {a["account_id"] for a in data["accounts.csv"] if a["kind"] == "customer"}
    data["projects.csv"] = [p for p in data["projects.csv"] if p["account_id"] in customers]
    projects = {p["project_id"] for p in data["projects.csv"]}
    for record in data["events.csv"] + data["invites.csv"]:
        if record["project_id"] not in projects or draw(st.booleans()):
            record["project_id"] = ""
    data["tasks.csv"] = [t for t in data["tasks.csv"] if t["project_id"] in projects]
    return data


@settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_leaderboard_matches_reference(db: Db, data: st.DataObject) -> None:
    dataset = data.draw(partner_datasets())
    ws = load_dataset(db.engine, dataset)
    kwargs = data.draw(scopes(dataset))
    sort = data.draw(st.sampled_from(leaderboard.COLUMNS))
    descending = data.draw(st.booleans())
    page_size = data.draw(st.integers(1, 4))
    page = data.draw(st.integers(1, 3))
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = leaderboard.compute(conn, scope, sort, descending, page, page_size)
        ref = load(conn, ws)
    rows, footer = ref_leaderboard(ref, scope)
    expected = ref_sorted(rows, sort, descending)[(page - 1) * page_size : page * page_size]
    assert [r.model_dump() for r in got.rows] == expected
    assert got.footer.model_dump() == footer
    assert got.total_rows == len(rows)
    assert got.pages == -(-len(rows) // page_size)
