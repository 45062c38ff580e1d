"""The assistant's lookups: never_logged_in (worked and vs the reference), search, profiles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import lookups
from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.scope import Scope, resolve_scope
from tests.conftest import Db, write_folder
from tests.reference import load
from tests.reference_risks import ref_never_logged_in, risk_datasets, risk_scopes
from tests.strategies import load_dataset, scope_for
from tests.test_risks import FOLDER


def _setup(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", FOLDER), workspace=db.workspace)


def _scope(conn: object, db: Db, **kwargs: object) -> Scope:
    kwargs.setdefault("as_of", "2026-03-31")
    ws = workspace_id(conn, db.workspace, create=False)  # type: ignore[arg-type]
    return resolve_scope(conn, ws, **kwargs)  # type: ignore[arg-type]


# -- never_logged_in --------------------------------------------------------------------


def test_never_logged_in_overall_project_account_kind(db: Db, tmp_path: Path) -> None:
    _setup(db, tmp_path)
    with db.engine.connect() as conn:
        scope = _scope(conn, db)
        overall = lookups.never_logged_in(conn, scope)
        # Bob and Cy never logged in to p1. Ann skipped p3 but uses p1, Gus skipped p3 but
        # uses the partner portal: neither is "never logged in".
        assert (overall.total, overall.invites, overall.invited) == (2, 2, 7)
        assert [(r.user_id, r.project_id, r.days_since_invite) for r in overall.rows] == [
            ("u3", "p1", 30),  # first of Cy's two invites (03-01 and 03-20)
            ("u2", "p1", 29),
        ]
        cy = overall.rows[0]
        assert (cy.user, cy.account_id, cy.account, cy.project) == ("Cy", "acme", "Acme", "Rollout")
        assert cy.invited_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
        assert [(c.project_id, c.project, c.users) for c in overall.by_project] == [
            ("p1", "Rollout", 2)
        ]
        assert [(c.account_id, c.users) for c in overall.by_account] == [("acme", 2)]

        pilot = lookups.never_logged_in(conn, scope, project="Pilot")  # a name works too
        assert pilot.project_id == "p3"
        assert [(r.user_id, r.days_since_invite) for r in pilot.rows] == [("u1", 21), ("u7", 3)]
        assert (pilot.total, pilot.invited) == (2, 2)

        customers = lookups.never_logged_in(conn, scope, kind="customer")
        # Gus's only project invite is p3: among customer portals he never logged in.
        assert [r.user_id for r in customers.rows] == ["u3", "u2", "u7"]
        partners = lookups.never_logged_in(conn, scope, kind="partner")
        assert (partners.total, partners.invited) == (0, 3)

        acme = lookups.never_logged_in(conn, scope, account="acme", kind="customer")
        assert [r.user_id for r in acme.rows] == ["u3", "u2"]

        with pytest.raises(lookups.ResolveError, match="no project called 'nope'"):
            lookups.never_logged_in(conn, scope, project="nope")
        with pytest.raises(LookupError, match="account"):
            lookups.never_logged_in(conn, scope, account="Initech")
        with pytest.raises(ValueError, match="kind"):
            lookups.never_logged_in(conn, scope, kind="vendor")  # type: ignore[arg-type]


def test_never_logged_in_is_taken_at_window_end(db: Db, tmp_path: Path) -> None:
    _setup(db, tmp_path)
    with db.engine.connect() as conn:
        # Window 03-01..03-09: until = 03-10 00:00. Ann had logged in (03-05); Bob and Cy
        # had been invited; Ann's p3 invite (03-10 10:00) comes after until.
        early = lookups.never_logged_in(
            conn, _scope(conn, db, start="2026-03-01", end="2026-03-09")
        )
        assert [(r.user_id, r.days_since_invite) for r in early.rows] == [("u3", 8), ("u2", 7)]
        # Partner portal at 10:00 on 03-31: Fay's login happens exactly then, not before.
        at_ten = _scope(conn, db, as_of="2026-03-31T10:00:00Z", range="last_7_days")
        fay = lookups.never_logged_in(conn, at_ten, kind="partner")
        assert [(r.user_id, r.project_id, r.project) for r in fay.rows] == [("u6", None, None)]
        assert [(c.project_id, c.project) for c in fay.by_project] == [(None, "Partner portal")]
        # Filters of the scope apply: Raj's portals are p2, p3 and BrightPath's.
        raj = lookups.never_logged_in(conn, _scope(conn, db, owner="tm2"))
        assert [r.user_id for r in raj.rows] == ["u1", "u7"]


@settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_never_logged_in_matches_reference(db: Db, data: st.DataObject) -> None:
    dataset = data.draw(risk_datasets())
    ws = load_dataset(db.engine, dataset)
    kwargs = data.draw(risk_scopes(dataset))
    project = data.draw(
        st.sampled_from([None, None, *[p["project_id"] for p in dataset["projects.csv"]]])
    )
    account = data.draw(
        st.sampled_from([None, None, None, *[a["account_id"] for a in dataset["accounts.csv"]]])
    )
    kind = data.draw(st.sampled_from([None, None, "customer", "partner"]))
    with db.engine.connect() as conn:
        scope = scope_for(conn, ws, kwargs)
        got = lookups.never_logged_in(conn, scope, project=project, account=account, kind=kind)
        ref = load(conn, ws)
    want = ref_never_logged_in(ref, scope, project, account, kind)
    assert (got.total, got.invited, got.invites) == (
        want["total"],
        want["invited"],
        want["invites"],
    )
    assert [
        r.model_dump(
            include={"user_id", "account_id", "project_id", "invited_at", "days_since_invite"}
        )
        for r in got.rows
    ] == want["rows"]
    assert {c.project_id: c.users for c in got.by_project} == want["by_project"]
    assert {c.account_id: c.users for c in got.by_account} == want["by_account"]


# -- search -----------------------------------------------------------------------------


def _search(db: Db, text: str, **kwargs: object) -> list[tuple[str, str, str]]:
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        return [
            (m.kind, m.id, m.match)
            for m in lookups.search_entities(conn, ws, text, **kwargs)  # type: ignore[arg-type]
        ]


def test_search_entities_ranks_exact_prefix_contains_fuzzy(db: Db, tmp_path: Path) -> None:
    _setup(db, tmp_path)
    assert _search(db, "p1") == [("project", "p1", "exact")]
    assert _search(db, "ROLLOUT") == [("project", "p1", "exact")]
    assert _search(db, "ann@acme.example") == [("user", "u1", "exact")]
    # "acme": the account by name; Ann's email contains it.
    assert _search(db, "acme") == [("account", "acme", "exact"), ("user", "u1", "contains")]
    assert _search(db, "bright") == [("partner", "bp", "prefix")]
    # "path" is inside BrightPath; Raj Patel's "patel" is only close to it.
    assert _search(db, "path") == [("partner", "bp", "contains"), ("member", "tm2", "fuzzy")]
    assert _search(db, "Rolout") == [("project", "p1", "fuzzy")]
    assert _search(db, "Raj") == [("member", "tm2", "prefix")]
    # Only the kinds asked for; a partner asked for as an account is an account.
    assert _search(db, "bright", kinds=("account",)) == [("account", "bp", "prefix")]
    assert _search(db, "bright", kinds=("user", "project")) == []
    assert _search(db, "  ") == []
    # LIKE wildcards in the text are plain characters.
    assert _search(db, "%") == [] and _search(db, "_") == []


def test_search_scores_order_and_limit(db: Db, tmp_path: Path) -> None:
    _setup(db, tmp_path)
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        matches = lookups.search_entities(conn, ws, "e")  # a letter in many names
        scores = [m.score for m in matches]
        assert scores == sorted(scores, reverse=True) and len(matches) == 8
        assert lookups.search_entities(conn, ws, "e", limit=3) == matches[:3]
        exact = lookups.search_entities(conn, ws, "Zenith")[0]
        assert (exact.kind, exact.score, exact.detail) == ("partner", 0.99, "referral")
        user = lookups.search_entities(conn, ws, "ann")[0]
        assert (user.id, user.match, user.detail) == ("u1", "exact", "Acme")
        with pytest.raises(ValueError, match="unknown kind"):
            lookups.search_entities(conn, ws, "x", kinds=("customer",))


# -- profiles ---------------------------------------------------------------------------


def test_project_profile(db: Db, tmp_path: Path) -> None:
    _setup(db, tmp_path)
    with db.engine.connect() as conn:
        scope = _scope(conn, db)
        p1 = lookups.project_profile(conn, scope, "p1")
        assert (p1.project, p1.account, p1.owner_id, p1.owner, p1.status) == (
            "Rollout",
            "Acme",
            "tm1",
            "Jane Doe",
            "in_progress",
        )
        assert p1.scope["filters"] == {"projects": ("p1",)}
        # Window [03-02, 04-01): Bob's invite (03-02) and Cy's second (03-20); Ann's two
        # visits (1200 s, 60 s); t3 completed on 03-19.
        assert p1.kpis.model_dump() == {
            "invites_sent": 2,
            "logins": 2,
            "sessions": 2,
            "tasks_completed": 1,
            "avg_session_seconds": 630.0,
            "unique_users": 1,
            "page_views": 2,
            "actions": 1,
        }
        assert (p1.invited, p1.logged_in, p1.never_logged_in, p1.conversion) == (3, 1, 2, 0.3333)
        assert p1.last_visit == datetime(2026, 3, 20, 9, tzinfo=UTC)
        assert p1.tasks.model_dump() == {"open": 4, "overdue": 2, "unassigned": 1, "due": 4}
        assert p1.health is not None
        assert (p1.health.risk_level, p1.health.on_time_health) == ("medium", "at_risk")
        assert sorted((s.signal, s.entity_id) for s in p1.signals) == [
            ("declining_duration", "p1"),
            ("low_invite_conversion", "p1"),
            ("never_logged_in", "u2"),
            ("never_logged_in", "u3"),
            ("overdue_tasks", "p1"),
            ("unassigned_tasks", "p1"),
        ]
        with pytest.raises(lookups.ResolveError, match="no project with id 'p9'"):
            lookups.project_profile(conn, scope, "p9")
        with pytest.raises(lookups.ResolveError, match="outside the current filters") as caught:
            lookups.project_profile(conn, _scope(conn, db, owner="tm2"), "p1")
        assert caught.value.kind == "out_of_scope"


def test_account_and_partner_profiles(db: Db, tmp_path: Path) -> None:
    _setup(db, tmp_path)
    with db.engine.connect() as conn:
        scope = _scope(conn, db)
        acme = lookups.account_profile(conn, scope, "acme")
        assert (acme.kind, acme.owner, acme.users) == ("customer", "Jane Doe", 3)
        # Invited to Acme's portals (p1, p3): Ann, Bob, Cy and Gus (p3). Only Ann logged in
        # to one of them; Gus uses the partner portal, which is not Acme's.
        assert (acme.invited, acme.logged_in, acme.never_logged_in) == (4, 1, 3)
        assert [p.project_id for p in acme.projects] == ["p1", "p3"]
        assert acme.last_visit == datetime(2026, 3, 29, 15, tzinfo=UTC)  # Bob on p3
        assert acme.tasks.model_dump() == {"open": 4, "overdue": 2, "unassigned": 1, "due": 4}
        assert acme.kpis.sessions == 3
        with pytest.raises(lookups.ResolveError, match="is a customer, not a partner"):
            lookups.partner_profile(conn, scope, "acme")
        with pytest.raises(lookups.ResolveError, match="no account with id 'zzz'"):
            lookups.account_profile(conn, scope, "zzz")

        bp = lookups.partner_profile(conn, scope, "bp")
        assert isinstance(bp, lookups.PartnerProfile)
        assert (bp.partner_type, bp.owner, bp.users) == ("reseller", "Raj Patel", 2)
        assert (bp.invited, bp.logged_in, bp.never_logged_in) == (2, 2, 0)
        assert bp.last_visit == datetime(2026, 3, 31, 10, tzinfo=UTC)
        assert bp.projects == [] and bp.tasks.open == 0
        assert bp.kpis.sessions == 3 and bp.kpis.unique_users == 2
        assert sorted(s.signal for s in bp.signals) == [
            "declining_duration",
            "visits_without_actions",
        ]
        # Zenith is outside an owner=Raj scope; BrightPath is inside it.
        with pytest.raises(lookups.ResolveError) as caught:
            lookups.partner_profile(conn, _scope(conn, db, owner="tm2"), "zen")
        assert caught.value.kind == "out_of_scope"
        assert lookups.partner_profile(conn, _scope(conn, db, owner="tm2"), "bp").users == 2


def test_user_profile(db: Db, tmp_path: Path) -> None:
    _setup(db, tmp_path)
    with db.engine.connect() as conn:
        scope = _scope(conn, db)
        ann = lookups.user_profile(conn, scope, "u1")
        assert (ann.user, ann.email, ann.account, ann.account_kind, ann.owner) == (
            "Ann",
            "ann@acme.example",
            "Acme",
            "customer",
            "Jane Doe",
        )
        assert (ann.sessions, ann.avg_session_seconds, ann.logins, ann.actions) == (2, 630.0, 2, 1)
        assert ann.first_login == datetime(2026, 3, 5, 10, tzinfo=UTC)
        assert ann.last_visit == datetime(2026, 3, 20, 9, tzinfo=UTC)
        assert [(p.project_id, p.sessions, p.first_login is not None) for p in ann.portals] == [
            ("p3", 0, False),  # Pilot before Rollout by name
            ("p1", 2, True),
        ]
        # t1 and t5 are open and Ann's, t1 overdue; t3 was completed on 03-19.
        assert ann.tasks.model_dump() == {"open": 2, "overdue": 1, "completed_in_window": 1}
        assert ann.signals == []
        bob = lookups.user_profile(conn, scope, "u2")
        assert [s.signal for s in bob.signals] == ["never_logged_in"]
        assert [(p.project_id, p.invited_at is None, p.sessions) for p in bob.portals] == [
            ("p3", True, 1),  # a visit without an invite
            ("p1", False, 0),
        ]
        fay = lookups.user_profile(conn, scope, "u6")
        assert [(p.project_id, p.project, p.logins) for p in fay.portals] == [(None, None, 1)]
        with pytest.raises(lookups.ResolveError, match="no user with id 'u99'"):
            lookups.user_profile(conn, scope, "u99")
