"""Import of SPEC §2 folders: what loads, what is rejected, and that a rejection changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from metrics.db import workspace_id
from metrics.ingest import ImportRejected, import_folder
from metrics.models import Account, Event, Invite, Project, Task, Ticket, User
from metrics.status import workspace_status
from tests.conftest import Db, write_folder

GOOD = {
    "team_members.csv": """
        member_id,name,email
        tm1,Jane Doe,jane@example.com
        tm2,Raj Patel,
    """,
    "accounts.csv": """
        account_id,name,kind,partner_type,owner_id
        acme,Acme Corp,customer,,tm1
        globex,Globex,Customer,,
        brightpath,BrightPath Partners,partner,reseller,tm2
    """,
    "projects.csv": """
        project_id,account_id,name,owner_id,status,playbook,started_on,target_live_on
        p1,acme,"Acme, CRM rollout",tm1,in_progress,Enterprise,2026-01-05,2026-04-30
        p2,globex,Globex launch,,live,,,
    """,
    "users.csv": """
        user_id,account_id,name,email,role
        u1,acme,Ann Lee,ann@acme.test,admin
        u2,acme,Bob Stone,,member
        u3,brightpath,Cy Ng,cy@bp.test,
    """,
    "rooms.csv": """
        room_id,name
        r1,Welcome
    """,
    "resources.csv": """
        resource_id,title,kind
        res1,Getting started,video
    """,
    "invites.csv": """
        invite_id,user_id,project_id,sent_at
        i1,u1,p1,2026-02-01T09:00:00Z
        i2,u2,p1,2026-02-01T09:00:00+01:00
        i3,u3,,2026-02-02 10:00:00
    """,
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type,action,room_id,resource_id,device,browser
        e1,u1,p1,2026-02-03T10:00:00Z,login,,,,desktop,firefox
        e2,u1,p1,2026-02-03T10:05:00Z,page_view,,r1,res1,desktop,firefox
        e3,u1,p1,2026-02-03T10:06:30.250Z,action,video_play,,res1,desktop,firefox
        e4,u3,,2026-02-04T08:00:00-05:00,login,,,,mobile,
    """,
    "tasks.csv": """
        task_id,project_id,title,assignee_user_id,due_on,completed_at,created_at
        t1,p1,Connect SSO,u1,2026-02-10,,2026-02-01T00:00:00Z
        t2,p1,Import contacts,,2026-02-20,2026-02-05T12:00:00Z,2026-02-01T00:00:00Z
    """,
    "tickets.csv": """
        ticket_id,user_id,created_at,resolution
        k1,u1,2026-02-04T09:00:00Z,self_service
        k2,u2,2026-02-05T09:00:00Z,
    """,
}


def snapshot(db: Db) -> dict[str, int]:
    with db.engine.connect() as conn:
        try:
            return workspace_status(conn, db.workspace).rows
        except Exception:
            return {}


def test_a_spec_folder_loads(db: Db, tmp_path: Path) -> None:
    report = import_folder(db.engine, write_folder(tmp_path / "in", GOOD), workspace=db.workspace)
    assert report.rows["events.csv"] == 4
    assert report.sessions_written == 2
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        accounts = dict(
            conn.execute(
                select(Account.account_id, Account.kind).where(Account.workspace_id == ws)
            ).all()
        )
        assert accounts == {"acme": "customer", "globex": "customer", "brightpath": "partner"}
        project = conn.execute(
            select(Project.name, Project.started_on, Project.playbook).where(
                Project.workspace_id == ws, Project.project_id == "p1"
            )
        ).one()
        assert tuple(project) == (
            "Acme, CRM rollout",
            date(2026, 1, 5),
            "Enterprise",
        )
        invites = dict(
            conn.execute(
                select(Invite.invite_id, Invite.sent_at).where(Invite.workspace_id == ws)
            ).all()
        )
        assert invites["i2"] == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)  # +01:00 normalized
        assert invites["i3"] == datetime(2026, 2, 2, 10, 0, tzinfo=UTC)  # no offset = UTC
        partner_event = conn.execute(
            select(Event.project_id, Event.occurred_at).where(
                Event.workspace_id == ws, Event.event_id == "e4"
            )
        ).one()
        assert partner_event.project_id == ""  # the partner portal
        assert partner_event.occurred_at == datetime(2026, 2, 4, 13, 0, tzinfo=UTC)
        e3 = conn.scalar(
            select(Event.occurred_at).where(Event.workspace_id == ws, Event.event_id == "e3")
        )
        assert e3 == datetime(2026, 2, 3, 10, 6, 30, 250000, tzinfo=UTC)
        assert (
            conn.scalar(select(User.email).where(User.workspace_id == ws, User.user_id == "u2"))
            is None
        )
        assert (
            conn.scalar(
                select(Task.assignee_user_id).where(Task.workspace_id == ws, Task.task_id == "t2")
            )
            is None
        )
        assert (
            conn.scalar(
                select(Ticket.resolution).where(Ticket.workspace_id == ws, Ticket.ticket_id == "k2")
            )
            is None
        )


def test_only_accounts_is_required(db: Db, tmp_path: Path) -> None:
    accounts = "account_id,name,kind,partner_type\nacme,Acme,customer,\nbp,BP,partner,referral\n"
    folder = write_folder(tmp_path / "in", {"accounts.csv": accounts})
    report = import_folder(db.engine, folder, workspace=db.workspace)
    assert report.rows == {"accounts.csv": 2}


def test_owner_must_be_a_known_team_member(db: Db, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", {"accounts.csv": GOOD["accounts.csv"]})
    with pytest.raises(ImportRejected) as caught:
        import_folder(db.engine, folder, workspace=db.workspace)
    assert [str(e) for e in caught.value.errors] == [
        "accounts.csv, line 2, column owner_id: unknown team member 'tm1'",
        "accounts.csv, line 4, column owner_id: unknown team member 'tm2'",
    ]


def test_missing_accounts_file_is_rejected(db: Db, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", {"users.csv": GOOD["users.csv"]})
    with pytest.raises(ImportRejected) as caught:
        import_folder(db.engine, folder, workspace=db.workspace)
    assert str(caught.value.errors[0]) == "accounts.csv: required file is missing"
    assert caught.value.errors[0].line is None


def test_bom_crlf_uppercase_headers_and_reordered_columns(db: Db, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "accounts.csv").write_bytes(
        "\ufeffName,Account_ID,KIND,owner_id\r\nAcme,acme,customer,\r\n".encode()
    )
    report = import_folder(db.engine, folder, workspace=db.workspace)
    assert report.rows == {"accounts.csv": 1}


def test_reimport_updates_and_never_duplicates(db: Db, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", GOOD)
    import_folder(db.engine, folder, workspace=db.workspace)
    first = snapshot(db)
    changed = dict(GOOD)
    changed["accounts.csv"] = GOOD["accounts.csv"].replace("Acme Corp", "Acme Corporation")
    import_folder(db.engine, write_folder(tmp_path / "again", changed), workspace=db.workspace)
    assert snapshot(db) == first
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        assert (
            conn.scalar(
                select(Account.name).where(Account.workspace_id == ws, Account.account_id == "acme")
            )
            == "Acme Corporation"
        )


def _broken(**replacements: tuple[str, str]) -> dict[str, str]:
    files = dict(GOOD)
    for name, (old, new) in replacements.items():
        assert old in files[f"{name}.csv"]
        files[f"{name}.csv"] = files[f"{name}.csv"].replace(old, new)
    return files


def test_every_error_is_reported_with_file_line_and_column(db: Db, tmp_path: Path) -> None:
    files = _broken(
        accounts=(
            "brightpath,BrightPath Partners,partner,reseller",
            "brightpath,BrightPath Partners,partner,wholesale",
        ),
        projects=("live", "launched"),
        invites=("2026-02-01T09:00:00Z", "yesterday"),
        events=("e4,u3,", "e4,u9,"),
        tasks=("t1,p1,Connect SSO,u1,2026-02-10", "t1,p7,Connect SSO,u1,10/02/2026"),
        tickets=("k2,u2,2026-02-05T09:00:00Z,", "k2,u2,2026-02-05T09:00:00Z,escalated"),
    )
    with pytest.raises(ImportRejected) as caught:
        import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    messages = [str(e) for e in caught.value.errors]
    assert messages == [
        "accounts.csv, line 4, column partner_type: 'wholesale' is not one of referral, reseller",
        "projects.csv, line 3, column status: 'launched' is not one of not_started, in_progress, "
        "on_hold, live, cancelled",
        "invites.csv, line 2, column sent_at: 'yesterday' is not an ISO 8601 timestamp",
        "events.csv, line 5, column user_id: unknown user 'u9'",
        "tasks.csv, line 2, column project_id: unknown project 'p7'",
        "tasks.csv, line 2, column due_on: '10/02/2026' is not a date (expected YYYY-MM-DD)",
        "tickets.csv, line 3, column resolution: 'escalated' is not one of self_service, agent",
    ]
    assert caught.value.total == 7


def test_missing_required_column_names_the_header(db: Db, tmp_path: Path) -> None:
    files = _broken(users=("user_id,account_id,name,email,role", "user_id,account,name,email,role"))
    with pytest.raises(ImportRejected) as caught:
        import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    assert [str(e) for e in caught.value.errors] == [
        "users.csv, line 1, column account_id: required column is missing from the header"
    ]


def test_required_value_partner_rules_and_row_width(db: Db, tmp_path: Path) -> None:
    files = _broken(
        accounts=("globex,Globex,Customer,,", "globex,Globex,customer,referral,"),
        users=("u2,acme,Bob Stone", "u2,acme,"),
        events=(
            "e3,u1,p1,2026-02-03T10:06:30.250Z,action,video_play",
            "e3,u1,p1,2026-02-03T10:06:30.250Z,action,",
        ),
        rooms=("r1,Welcome", "r1,Welcome,extra,values"),
    )
    with pytest.raises(ImportRejected) as caught:
        import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    got = [str(e) for e in caught.value.errors]
    assert "users.csv, line 3, column name: a value is required" in got
    assert (
        "accounts.csv, line 3, column partner_type: "
        "partner_type is only allowed on partner accounts" in got
    )
    assert "rooms.csv, line 2: 4 values for 2 columns (unquoted comma?)" in got
    assert (
        "events.csv, line 4, column action: an event of type 'action' needs an action kind" in got
    )
    # the bad rooms row still defines r1, so events referring to it raise no second error
    assert not any("unknown room" in message for message in got)
    assert len(got) == 4


def test_a_rejected_import_leaves_the_database_exactly_as_it_was(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "first", GOOD), workspace=db.workspace)
    before = snapshot(db)
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        names_before = conn.execute(
            select(Account.account_id, Account.name).where(Account.workspace_id == ws)
        ).all()
    # Valid changes in early files, one bad value in the last file.
    files = _broken(
        accounts=("Acme Corp", "Acme Renamed"),
        tickets=("k2,u2,2026-02-05T09:00:00Z,", "k2,u2,2026-13-05T09:00:00Z,"),
    )
    files["events.csv"] += "\ne9,u2,p1,2026-02-06T10:00:00Z,login,,,,desktop,"
    with pytest.raises(ImportRejected):
        import_folder(db.engine, write_folder(tmp_path / "second", files), workspace=db.workspace)
    assert snapshot(db) == before
    with db.engine.connect() as conn:
        names_after = conn.execute(
            select(Account.account_id, Account.name).where(Account.workspace_id == ws)
        ).all()
    assert names_after == names_before


def test_a_rejected_first_import_creates_nothing(db: Db, tmp_path: Path) -> None:
    files = _broken(
        events=("e1,u1,p1,2026-02-03T10:00:00Z,login", "e1,u1,p1,2026-02-03T10:00:00Z,logon")
    )
    with pytest.raises(ImportRejected):
        import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    assert snapshot(db) == {}  # not even the workspace


def test_errors_are_capped(db: Db, tmp_path: Path) -> None:
    rows = "\n".join(f"x{i},nobody,p1,2026-02-03T10:00:00Z,login,,,,," for i in range(500))
    files = dict(
        GOOD,
        **{
            "events.csv": "event_id,user_id,project_id,occurred_at,type,action,room_id,"
            "resource_id,device\n" + rows
        },
    )
    with pytest.raises(ImportRejected) as caught:
        import_folder(
            db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace, max_errors=25
        )
    assert len(caught.value.errors) == 25
    assert caught.value.errors[0].line == 2


def test_not_utf8_is_rejected(db: Db, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "in", {"accounts.csv": "account_id,name,kind\nacme,Acme,customer"}
    )
    (folder / "users.csv").write_bytes(
        "user_id,account_id,name\nu1,acme,Jos\xe9\n".encode("latin-1")
    )
    with pytest.raises(ImportRejected) as caught:
        import_folder(db.engine, folder, workspace=db.workspace)
    assert "users.csv" in str(caught.value.errors[0]) and "UTF-8" in str(caught.value.errors[0])


def test_workspaces_are_isolated(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "in", GOOD), workspace=db.workspace)
    other = db.workspace + "_other"
    import_folder(
        db.engine,
        write_folder(tmp_path / "o", {k: GOOD[k] for k in ("team_members.csv", "accounts.csv")}),
        workspace=other,
    )
    with db.engine.connect() as conn:
        assert workspace_status(conn, other).rows["events"] == 0
        assert workspace_status(conn, db.workspace).rows["events"] == 4
