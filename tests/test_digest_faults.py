"""SMTP fault modes and crash recovery of digest runs (issue 15, items 1 and 11).

After the DATA command the SMTP server may hold the message even when its reply is
lost: such a digest is *in doubt*, never resent automatically (neither in the same
run nor by the next one), reported, and released only by an operator.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assistant.digest import DigestService, DigestSettings, store
from assistant.digest.weeks import parse_week
from metrics.app_models import Digest
from tests.conftest import Db
from tests.digest_support import WEEK, SinkHandler, SmtpSink, load_book

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class FaultHandler(SinkHandler):
    """Accepts every message (it is in ``messages``), then misbehaves at the reply to
    DATA for the first ``times`` messages: ``drop`` hangs up, ``delay`` answers after
    ``delay_s``, ``451`` refuses for now (a clear answer: nothing was accepted)."""

    mode: str = "drop"
    times: int = 1
    delay_s: float = 1.5
    seen_data: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen_data.set()
        if self.times == 0:
            return await super().handle_DATA(server, session, envelope)
        self.times -= 1
        if self.mode == "451":
            return "451 4.3.0 Try again later"
        reply = await super().handle_DATA(server, session, envelope)
        if self.mode == "drop":
            server.transport.close()
        else:
            await asyncio.sleep(self.delay_s)
        return reply


@pytest.fixture
def book(db: Db, tmp_path: Path) -> tuple[Db, int]:
    ws = load_book(db, tmp_path)
    with db.engine.begin() as conn:
        store.subscribe(conn, ws, "tm1")
    return db, ws


def faulty_sink(**options: Any) -> SmtpSink:
    sink = SmtpSink()
    handler = FaultHandler(**options)
    sink.handler = handler
    sink.controller.handler = handler
    return sink


def settings(port: int, **changes: Any) -> DigestSettings:
    return DigestSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout_s=0.5,
        backoff_s=0,
        base_url="http://pp.test",
        secret="test-secret",
        sender="PortalPulse <digest@pp.test>",
    ).replace(**changes)


def send(db: Db, ws: int, port: int):
    service = DigestService(db.engine, ws, db.workspace, settings(port), sleep=lambda s: None)
    return service.send(week=parse_week(WEEK), to="tm1")


def row(db: Db, ws: int) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(
            select(Digest).where(Digest.workspace_id == ws, Digest.week == WEEK)
        ).one()


@pytest.mark.parametrize("mode", ["drop", "delay"])
def test_lost_reply_after_data_is_in_doubt_and_never_resent(
    book: tuple[Db, int], mode: str
) -> None:
    db, ws = book
    with faulty_sink(mode=mode, times=1) as sink:
        first = send(db, ws, sink.port)
        assert [(o.status, o.attempts) for o in first.outcomes] == [("in_doubt", 1)]
        assert not first.ok
        assert "in doubt" in first.outcomes[0].error
        # Later runs report it and send nothing, however often they run.
        for _ in range(2):
            again = send(db, ws, sink.port)
            assert [o.status for o in again.outcomes] == ["in_doubt"] and not again.ok
            assert first.outcomes[0].message_id in again.outcomes[0].error
        assert len(sink.handler.messages) == 1  # exactly the one copy the server kept
        stored = row(db, ws)
        assert (stored.status, stored.attempts) == (store.IN_DOUBT, 1)
        # An operator who finds it missing from the mail log releases it: sent once more.
        with db.engine.begin() as conn:
            assert store.release_in_doubt(conn, ws, WEEK) == 1
        assert [o.status for o in send(db, ws, sink.port).outcomes] == ["sent"]
        assert len(sink.handler.messages) == 2
        assert row(db, ws).status == store.SENT


def test_451_to_data_is_a_clear_answer_and_retried(book: tuple[Db, int]) -> None:
    db, ws = book
    with faulty_sink(mode="451", times=1) as sink:
        report = send(db, ws, sink.port)
        assert [(o.status, o.attempts) for o in report.outcomes] == [("sent", 2)]
        assert report.ok and len(sink.handler.messages) == 1


RUN = """
import sys
from assistant.digest import DigestService, DigestSettings
from assistant.digest.weeks import parse_week
from metrics.db import connect, workspace_id
url, workspace, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
engine = connect(url)
with engine.connect() as conn:
    ws = workspace_id(conn, workspace, create=False)
settings = DigestSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_s=600,
                          base_url="http://pp.test", secret="s", sender="PP <d@pp.test>")
DigestService(engine, ws, workspace, settings).send(week=parse_week(sys.argv[4]), to="tm1")
"""


def test_run_killed_during_smtp_is_in_doubt_at_once(book: tuple[Db, int]) -> None:
    db, ws = book
    with faulty_sink(mode="delay", times=1, delay_s=60) as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN, db.url, db.workspace, str(sink.port), WEEK], cwd=ROOT
        )
        try:
            assert sink.handler.seen_data.wait(60), "the run never reached DATA"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        report = send(db, ws, sink.port)  # right away: no run holds it any more
        assert [o.status for o in report.outcomes] == ["in_doubt"]
        assert len(sink.handler.messages) == 1


def test_run_killed_before_smtp_is_taken_over_at_once(book: tuple[Db, int]) -> None:
    db, ws = book
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        claim = store.claim(db.engine, ws, "tm1", WEEK, "ann@co.example", "<m@pp.test>")
        from sqlalchemy import update

        with db.engine.begin() as conn:  # as if that process had claimed it
            holder = store.process_tag().rsplit(" ", 2)[0]
            conn.execute(
                update(Digest)
                .where(Digest.id == claim.digest_id)
                .values(holder=f"{holder} {proc.pid} {store._start_time(proc.pid)}")
            )
        with SmtpSink() as sink:
            busy = send(db, ws, sink.port).outcomes[0]
            assert (busy.status, busy.error) == ("skipped", "being sent by another run")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(0.05)
            assert [o.status for o in send(db, ws, sink.port).outcomes] == ["sent"]
            assert len(sink.handler.messages) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_release_in_doubt_json_is_pure_json(book: tuple[Db, int], tmp_path: Path) -> None:
    db, ws = book
    with faulty_sink(mode="drop", times=1) as sink:
        send(db, ws, sink.port)
        env = {
            **os.environ,
            "PORTALPULSE_SMTP_HOST": "127.0.0.1",
            "PORTALPULSE_SMTP_PORT": str(sink.port),
        }
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from cli import main; main()",
                "digest",
                "send",
                "--week",
                WEEK,
                "--release-in-doubt",
                "--json",
                "--db",
                db.url,
                "--workspace",
                db.workspace,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    outcomes = json.loads(done.stdout)
    assert [o["status"] for o in outcomes] == ["sent"]
    assert "Released 1 in-doubt digest(s)" in done.stderr
