"""Risk signals and project health: worked examples, edge cases, and SQL vs the reference."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.scope import resolve_scope
from metrics.sections import risks
from metrics.sections.risks import RiskThresholds
from tests.conftest import Db, write_folder
from tests.reference import load
from tests.reference_risks import ref_risks, risk_datasets, risk_scopes
from tests.strategies import load_dataset, scope_for

# as_of = end of 2026-03-31 (2026-04-01T00:00Z); last_30_days = [03-02, 04-01).
FOLDER = {
    "team_members.csv": "member_id,name\ntm1,Jane Doe\ntm2,Raj Patel",
    "accounts.csv": """
        account_id,name,kind,partner_type,owner_id
        acme,Acme,customer,,tm1
        globex,Globex,customer,,tm2
        bp,BrightPath,partner,reseller,tm2
        zen,Zenith,partner,referral,tm1
    """,
    "projects.csv": """
        project_id,account_id,name,owner_id,status
        p1,acme,Rollout,,in_progress
        p2,globex,Migration,tm2,in_progress
        p3,acme,Pilot,tm2,live
    """,
    "users.csv": """
        user_id,account_id,name,email
        u1,acme,Ann,ann@acme.example
        u2,acme,Bob,
        u3,acme,Cy,
        u4,globex,Dee,
        u5,bp,Eve,
        u6,bp,Fay,
        u7,zen,Gus,
    """,
    "invites.csv": """
        invite_id,user_id,project_id,sent_at
        i1,u1,p1,2026-02-28T10:00:00Z
        i2,u2,p1,2026-03-02T10:00:00Z
        i3,u3,p1,2026-03-01T10:00:00Z
        i4,u4,p2,2026-02-01T10:00:00Z
        i5,u1,p3,2026-03-10T10:00:00Z
        i6,u5,,2026-02-15T10:00:00Z
        i7,u6,,2026-03-25T10:00:00Z
        i8,u7,,2026-01-10T10:00:00Z
        i9,u3,p1,2026-03-20T10:00:00Z
        i10,u7,p3,2026-03-28T12:00:00Z
    """,
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type,action,device
        e1,u1,p1,2026-03-05T10:00:00Z,login,,desktop
        e2,u1,p1,2026-03-05T10:10:00Z,page_view,,desktop
        e3,u1,p1,2026-03-05T10:20:00Z,action,pdf_open,desktop
        e4,u1,p1,2026-03-20T09:00:00Z,login,,desktop
        e5,u1,p1,2026-03-20T09:01:00Z,page_view,,desktop
        e6,u4,p2,2026-03-01T08:00:00Z,login,,mobile
        e7,u5,,2026-03-28T12:00:00Z,login,,desktop
        e8,u5,,2026-03-28T12:05:00Z,page_view,,desktop
        e9,u7,,2026-02-01T10:00:00Z,login,,desktop
        e10,u2,p3,2026-03-29T15:00:00Z,page_view,,desktop
        e11,u6,,2026-03-31T10:00:00Z,login,,mobile
        e12,u5,,2026-03-05T09:00:00Z,login,,desktop
        e13,u5,,2026-03-05T09:20:00Z,page_view,,desktop
    """,
    "tasks.csv": """
        task_id,project_id,title,assignee_user_id,due_on,completed_at,created_at
        t1,p1,SSO,u1,2026-03-30,,2026-02-01T00:00:00Z
        t2,p1,Import,u2,2026-03-31,,2026-02-01T00:00:00Z
        t3,p1,Kickoff,u1,2026-03-20,2026-03-19T12:00:00Z,2026-02-01T00:00:00Z
        t4,p1,Branding,,2026-03-15,,2026-02-01T00:00:00Z
        t5,p1,Training,u1,2026-04-01,,
        t6,p2,Data map,u4,2026-03-10,,2026-02-01T00:00:00Z
        t7,p2,Later,,2026-03-10,,2026-04-05T00:00:00Z
    """,
}


def _load(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", FOLDER), workspace=db.workspace)


def _risks(db: Db, thresholds: RiskThresholds | None = None, **scope: object) -> risks.RisksResult:
    scope.setdefault("as_of", "2026-03-31")
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        return risks.compute(conn, resolve_scope(conn, ws, **scope), thresholds)


def _keys(result: risks.RisksResult) -> list[tuple[str, str, str]]:
    return [(s.severity, s.signal, s.entity_id) for s in result.signals]


def test_worked_example_every_signal(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    result = _risks(db)
    # High: p2's last visit 03-01 08:00 is before 03-18 (14 days) and before 03-04 (28 days);
    # Cy's first invite to p1 was 03-01, 30 days before 03-31; p2's one due task is overdue
    # (off track). Medium: p1 visits fell from 1200 s (03-05) to 60 s (03-20); Zenith's
    # last partner visit 02-01 is before 03-02; p1 has 1 of 3 invited logged in; Bob was
    # invited 29 days ago; p1 has 2 of 4 due tasks overdue (t2 is due on the as-of date).
    # Low: p1's t4 is unassigned; BrightPath and Pilot had visits but no action.
    assert _keys(result) == [
        ("high", "inactive_project", "p2"),
        ("high", "never_logged_in", "u3"),
        ("high", "overdue_tasks", "p2"),
        ("medium", "declining_duration", "bp"),
        ("medium", "declining_duration", "p1"),
        ("medium", "dormant_partner", "zen"),
        ("medium", "low_invite_conversion", "p1"),
        ("medium", "never_logged_in", "u2"),
        ("medium", "overdue_tasks", "p1"),
        ("low", "unassigned_tasks", "p1"),
        ("low", "visits_without_actions", "bp"),
        ("low", "visits_without_actions", "p3"),
    ]
    assert result.counts == {
        "never_logged_in": 2,
        "inactive_project": 1,
        "low_invite_conversion": 1,
        "overdue_tasks": 2,
        "unassigned_tasks": 1,
        "declining_duration": 2,
        "dormant_partner": 1,
        "visits_without_actions": 2,
    }
    by = {(s.signal, s.entity_id): s for s in result.signals}
    assert by["inactive_project", "p2"].numbers == {
        "days_since_last_visit": 30,
        "last_visit": "2026-03-01T08:00:00Z",
    }
    conversion = by["low_invite_conversion", "p1"]
    assert conversion.numbers == {"invited": 3, "logged_in": 1, "conversion": 0.3333}
    assert (conversion.owner_id, conversion.owner) == ("tm1", "Jane Doe")  # account's owner
    assert (conversion.account_id, conversion.account) == ("acme", "Acme")
    assert "At least 3 users invited and fewer than 50%" in conversion.rule
    assert by["overdue_tasks", "p1"].numbers == {"overdue": 2, "due": 4, "overdue_share": 0.5}
    assert by["unassigned_tasks", "p1"].numbers == {"unassigned": 1, "open": 4}
    assert by["declining_duration", "p1"].numbers == {
        "recent_avg_seconds": 60.0,
        "previous_avg_seconds": 1200.0,
        "recent_sessions": 1,
        "previous_sessions": 1,
        "change": 0.05,
    }
    assert by["dormant_partner", "zen"].numbers == {
        "days_since_last_visit": 58,
        "last_visit": "2026-02-01T10:00:00Z",
        "users": 1,
    }
    assert by["visits_without_actions", "bp"].numbers == {
        "sessions": 3,
        "page_views": 2,
        "actions": 0,
    }
    # BrightPath's partner-portal visits: 1200 s on 03-05, then 300 s and 0 s.
    assert by["declining_duration", "bp"].numbers == {
        "recent_avg_seconds": 150.0,
        "previous_avg_seconds": 1200.0,
        "recent_sessions": 2,
        "previous_sessions": 1,
        "change": 0.125,
    }
    assert by["declining_duration", "bp"].entity_type == "partner"
    cy = by["never_logged_in", "u3"]
    assert (cy.entity, cy.account, cy.owner_id, cy.entity_type) == ("Cy", "Acme", "tm1", "user")
    assert cy.numbers == {"portals": 1, "days_since_invite": 30}  # first of two invites
    assert [(p.project_id, p.project) for p in cy.portals or []] == [("p1", "Rollout")]
    assert cy.next_step.startswith("Resend the invite to Cy")
    assert "the end of 2026-03-31" in cy.rule
    # Ann logged in to p1, so the p3 invite she never used does not make her "never logged in".
    assert ("never_logged_in", "u1") not in by
    assert all(s.next_step and s.rule for s in result.signals)
    assert result.thresholds["inactive_days"] == 14 and result.thresholds["min_invited"] == 3


def test_project_health_and_risk_level(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    rows = {p.project_id: p for p in _risks(db).projects}
    assert [p.project_id for p in _risks(db).projects] == ["p2", "p1", "p3"]  # high, med, low
    p1, p2, p3 = rows["p1"], rows["p2"], rows["p3"]
    assert (p1.on_time_health, p1.overdue, p1.due) == ("at_risk", 2, 4)  # 50 %
    assert (p1.engagement_level, p1.days_since_activity) == ("low", 11)  # last visit 03-20
    assert p1.risk_level == "medium"
    assert p1.risk_reasons == [
        "on_time_health:at_risk",
        "overdue_tasks",
        "low_invite_conversion",
        "declining_duration",
    ]
    assert (p2.on_time_health, p2.overdue, p2.due) == ("off_track", 1, 1)  # t7 not created yet
    assert (p2.engagement_level, p2.days_since_activity) == ("low", 30)
    assert p2.risk_level == "high"
    assert p2.risk_reasons == ["on_time_health:off_track", "inactive_project", "overdue_tasks"]
    assert (p3.on_time_health, p3.engagement_level, p3.days_since_activity) == (
        "no_tasks_due",
        "high",
        2,
    )
    assert (p3.risk_level, p3.risk_reasons) == ("low", ["visits_without_actions"])
    assert (p3.owner_id, p3.owner, p3.account) == ("tm2", "Raj Patel", "Acme")


def test_as_of_inside_the_day(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    result = _risks(db, as_of="2026-03-31T09:00:00Z")
    by = {(s.signal, s.entity_id): s for s in result.signals}
    # Fay's first login is at 10:00, an hour after as_of: she has not logged in yet.
    fay = by["never_logged_in", "u6"]
    assert (fay.severity, fay.numbers["days_since_invite"]) == ("low", 6)
    assert fay.portals and fay.portals[0].project_id is None
    assert fay.next_step.startswith("Resend the partner-portal invite to Fay")
    # t2 is due on 03-31, the as-of date itself: not overdue yet at 09:00.
    assert by["overdue_tasks", "p1"].numbers == {"overdue": 1, "due": 3, "overdue_share": 0.3333}
    # BrightPath's 03-31 visit is after as_of.
    assert by["visits_without_actions", "bp"].numbers["sessions"] == 2


def test_things_exactly_at_as_of_are_not_seen(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    raj = _risks(db, owner="tm2", as_of="2026-03-28T12:00:00Z")
    by = {(s.signal, s.entity_id): s for s in raj.signals}
    # Gus's p3 invite is sent at 12:00 exactly: not yet invited.
    assert ("never_logged_in", "u7") not in by
    # BrightPath's 12:00 session has not started; its last visit is 03-05 09:00.
    assert raj.signals and ("dormant_partner", "bp") not in by
    bp = _risks(db, RiskThresholds(dormant_days=23), owner="tm2", as_of="2026-03-28T12:00:00Z")
    assert {(s.signal, s.entity_id): s for s in bp.signals}["dormant_partner", "bp"].numbers == {
        "days_since_last_visit": 23,
        "last_visit": "2026-03-05T09:00:00Z",
        "users": 2,
    }
    # Fay's first login is at 10:00 exactly: not before as_of, so she never logged in.
    fay = _risks(db, as_of="2026-03-31T10:00:00Z")
    assert [s.entity_id for s in fay.signals if s.signal == "never_logged_in"] == ["u3", "u2", "u6"]


def test_thresholds_at_their_boundaries(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    # p1's last visit is 03-20 09:00: before as_of − 11 days (03-21), not before − 12 (03-20).
    inactive = [
        s.entity_id
        for s in _risks(db, RiskThresholds(inactive_days=11)).signals
        if s.signal == "inactive_project"
    ]
    assert inactive == ["p2", "p1"]
    later = _risks(db, RiskThresholds(inactive_days=12)).signals
    assert [s.entity_id for s in later if s.signal == "inactive_project"] == ["p2"]
    # Zenith's 02-01 10:00 visit is within 60 days of as_of.
    assert _risks(db, RiskThresholds(dormant_days=60)).counts["dormant_partner"] == 0
    # 1 of 3 logged in: 1/3 is not below 0.3333, it is below 0.3334.
    low = RiskThresholds(conversion_below=0.3333)
    assert _risks(db, low).counts["low_invite_conversion"] == 0
    low = RiskThresholds(conversion_below=0.3334)
    assert _risks(db, low).counts["low_invite_conversion"] == 1
    assert _risks(db, RiskThresholds(min_invited=4)).counts["low_invite_conversion"] == 0
    # 60 s is exactly 5 % of 1200 s: not below a 5 % ratio, below 5.01 %.
    assert _risks(db, RiskThresholds(declining_ratio=0.05)).counts["declining_duration"] == 0
    assert _risks(db, RiskThresholds(declining_ratio=0.0501)).counts["declining_duration"] == 1
    # 2 overdue of 4 due = 50 %: off track only above 40 %... and on track below 60 %.
    p1 = {p.project_id: p for p in _risks(db, RiskThresholds(off_track_above=0.4)).projects}["p1"]
    assert p1.on_time_health == "off_track"
    p1 = {p.project_id: p for p in _risks(db, RiskThresholds(on_track_below=0.6)).projects}["p1"]
    assert p1.on_time_health == "on_track"
    p1 = {p.project_id: p for p in _risks(db, RiskThresholds(off_track_above=0.5)).projects}["p1"]
    assert p1.on_time_health == "at_risk"  # exactly at the boundary stays at risk
    unassigned = _risks(db, RiskThresholds(unassigned_threshold=0)).signals
    assert [s.severity for s in unassigned if s.signal == "unassigned_tasks"] == ["medium"]


def test_filters_choose_entities(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    referral = _risks(db, partner_type="referral")
    assert _keys(referral) == [("medium", "dormant_partner", "zen")]
    assert referral.projects == []
    raj = _risks(db, owner="Raj Patel")
    # Raj owns p2, p3 and BrightPath. Within his portals Ann and Gus were invited to p3
    # only and never logged in there, so for him they are never_logged_in users.
    assert _keys(raj) == [
        ("high", "inactive_project", "p2"),
        ("high", "overdue_tasks", "p2"),
        ("medium", "declining_duration", "bp"),
        ("medium", "never_logged_in", "u1"),
        ("low", "never_logged_in", "u7"),
        ("low", "visits_without_actions", "bp"),
        ("low", "visits_without_actions", "p3"),
    ]
    ann = next(s for s in raj.signals if s.entity_id == "u1")
    assert (ann.owner_id, ann.numbers) == ("tm2", {"portals": 1, "days_since_invite": 21})
    assert [p.project_id for p in raj.projects] == ["p2", "p3"]


def test_window_only_moves_visits_without_actions(db: Db, tmp_path: Path) -> None:
    _load(db, tmp_path)
    early = _risks(db, start="2026-03-01", end="2026-03-04")
    # Only p2's 03-01 login visit is in the window; state signals stay anchored on as_of.
    assert [s.entity_id for s in early.signals if s.signal == "visits_without_actions"] == ["p2"]
    assert early.counts["inactive_project"] == 1 and early.counts["never_logged_in"] == 2


def test_empty_workspace(db: Db, tmp_path: Path) -> None:
    import_folder(
        db.engine,
        write_folder(tmp_path / "in", {"accounts.csv": "account_id,name,kind\nc,Solo,customer"}),
        workspace=db.workspace,
    )
    result = _risks(db)
    assert result.signals == [] and result.projects == []
    assert set(result.counts.values()) == {0}


# -- property test ------------------------------------------------------------------------

thresholds = st.one_of(
    st.just(RiskThresholds()),
    st.builds(
        RiskThresholds,
        inactive_days=st.integers(1, 20),
        min_invited=st.integers(1, 3),
        conversion_below=st.sampled_from([0.25, 0.5, 1.0]),
        declining_days=st.integers(2, 14),
        declining_ratio=st.sampled_from([0.5, 0.9, 1.0]),
        dormant_days=st.integers(1, 40),
        unassigned_threshold=st.integers(0, 2),
        invite_medium_days=st.integers(0, 10),
        invite_high_days=st.integers(10, 60),
        on_track_below=st.sampled_from([0.2, 0.5]),
        off_track_above=st.sampled_from([0.5, 0.6]),
        engagement_high_days=st.integers(0, 5),
        engagement_medium_days=st.integers(5, 15),
    ),
)


def _comparable(result: risks.RisksResult) -> dict[str, object]:
    signals = [
        {
            "signal": s.signal,
            "entity_type": s.entity_type,
            "entity_id": s.entity_id,
            "entity": s.entity,
            "account_id": s.account_id,
            "owner_id": s.owner_id,
            "severity": s.severity,
            "numbers": s.numbers,
            "portals": None
            if s.portals is None
            else [(p.project_id, p.invited_at) for p in s.portals],
        }
        for s in result.signals
    ]
    projects = [
        p.model_dump(
            include={
                "project_id",
                "project",
                "account_id",
                "owner_id",
                "status",
                "on_time_health",
                "overdue",
                "due",
                "engagement_level",
                "days_since_activity",
                "risk_level",
                "risk_reasons",
            }
        )
        for p in result.projects
    ]
    counts = {k: v for k, v in result.counts.items() if v}
    return {"signals": signals, "counts": counts, "projects": projects}


@settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_risks_match_reference(db: Db, data: st.DataObject) -> None:
    dataset = data.draw(risk_datasets())
    ws = load_dataset(db.engine, dataset)
    kwargs = data.draw(risk_scopes(dataset))
    th = data.draw(thresholds)
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = risks.compute(conn, scope, th)
        ref = load(conn, ws)
    assert _comparable(got) == ref_risks(ref, scope, th)
