"""Shared pieces of the digest tests: a small book of business and a loopback SMTP sink.

The book (week under test 2026-W10 = 2 – 8 March 2026, the week before W09):

* tm1 Ann owns Acme (projects p1 "Rollout", p2 "Launchpad" that went live on 4 March)
  and the partner BrightPath; tm3 Cid (no email) owns Zed (p3 "Zeta", p4 "Quiet");
  tm4 Dee owns the partner Nova; tm2 Bob manages a team.
* BrightPath climbs from #2 (W09) to #1 (W10) on the leaderboard; Nova drops.
* u6 was invited to p1 on 3 March and never logged in; t1 (p1) and t2 (p3) are overdue.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from metrics.db import workspace_id
from metrics.ingest import import_folder
from tests.conftest import Db, write_folder

BOOK = {
    "team_members.csv": """member_id,name,email
        tm1,Ann Owner,ann@co.example
        tm2,Bob Manager,bob@co.example
        tm3,Cid Quiet,
        tm4,Dee Partner,dee@co.example""",
    "accounts.csv": """account_id,name,kind,partner_type,owner_id
        acme,Acme,customer,,tm1
        zed,Zed Corp,customer,,tm3
        bright,BrightPath,partner,referral,tm1
        nova,Nova Resell,partner,reseller,tm4""",
    "projects.csv": """project_id,account_id,name,owner_id,status,playbook,started_on,target_live_on
        p1,acme,Rollout,tm1,in_progress,standard,2026-02-01,2026-04-01
        p2,acme,Launchpad,tm1,live,standard,2026-01-10,2026-03-04
        p3,zed,Zeta,tm3,in_progress,standard,2026-02-01,2026-05-01
        p4,zed,Quiet,,in_progress,standard,2026-02-01,2026-05-01""",
    "users.csv": """user_id,account_id,name,email,role
        u1,acme,Ursula One,u1@acme.example,admin
        u2,acme,Umar Two,u2@acme.example,member
        u3,zed,Uma Three,u3@zed.example,member
        u4,bright,Ulf Four,u4@bright.example,member
        u5,nova,Ugo Five,u5@nova.example,member
        u6,acme,Una Six,u6@acme.example,member""",
    "invites.csv": """invite_id,user_id,project_id,sent_at
        i1,u1,p1,2026-02-20T09:00:00Z
        i2,u2,p1,2026-02-20T09:00:00Z
        i3,u3,p3,2026-02-20T09:00:00Z
        i4,u4,,2026-02-01T09:00:00Z
        i5,u5,,2026-02-01T09:00:00Z
        i6,u6,p1,2026-03-03T09:00:00Z""",
    "events.csv": """event_id,user_id,project_id,occurred_at,type,action
        e1,u1,p1,2026-02-24T10:00:00Z,login,
        e2,u1,p1,2026-02-24T10:05:00Z,page_view,
        e3,u4,,2026-02-25T09:00:00Z,login,
        e4,u5,,2026-02-25T09:00:00Z,login,
        e5,u5,,2026-02-25T09:10:00Z,page_view,
        e6,u5,,2026-02-26T09:00:00Z,login,
        e7,u1,p1,2026-03-03T10:00:00Z,login,
        e8,u1,p1,2026-03-03T10:10:00Z,action,video_play
        e9,u2,p1,2026-03-04T11:00:00Z,login,
        e10,u3,p3,2026-03-05T12:00:00Z,login,
        e11,u4,,2026-03-04T09:00:00Z,login,
        e12,u4,,2026-03-04T09:05:00Z,page_view,
        e13,u4,,2026-03-05T09:00:00Z,login,""",
    "tasks.csv": """task_id,project_id,title,assignee_user_id,due_on,completed_at,created_at
        t1,p1,Kickoff call,u1,2026-03-01,,2026-02-01T00:00:00Z
        t2,p3,Zed setup,u3,2026-03-02,,2026-02-01T00:00:00Z
        t3,p1,Data import,u2,2026-03-10,2026-03-05T10:00:00Z,2026-02-01T00:00:00Z""",
}
WEEK = "2026-W10"


def load_book(db: Db, tmp_path: Path) -> int:
    """Import the book into the test's workspace; returns its id."""
    import_folder(db.engine, write_folder(tmp_path / "book", BOOK), workspace=db.workspace)
    with db.engine.connect() as conn:
        return workspace_id(conn, db.workspace, create=False)


@dataclass
class SinkHandler:
    """Records what it accepts; ``failures[address]`` replies 451 that many times (-1: always)."""

    messages: list[EmailMessage] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, _: Any):
        left = self.failures.get(address, 0)
        if left:
            self.failures[address] = left - 1 if left > 0 else left
            self.refused.append(address)
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.messages.append(message_from_bytes(raw, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """aiosmtpd on 127.0.0.1 and a free port, in its own thread.

    ``login=(user, password)`` makes it require SMTP AUTH (over plain TCP: loopback only).
    """

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.handler = SinkHandler()
        options: dict[str, Any] = {}
        if login:
            expected = (login[0].encode(), login[1].encode())

            def authenticator(server, session, envelope, mechanism, data) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login, data.password) == expected
                return AuthResult(success=ok, handled=False)

            options = {
                "auth_required": True,
                "auth_require_tls": False,
                "authenticator": authenticator,
            }
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=free_port(), **options
        )

    @property
    def port(self) -> int:
        return self.controller.port

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
