"""Weekly digests end to end on both backends, with a real SMTP sink on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from assistant.answers import num, secs
from assistant.digest import DigestService, DigestSettings, store
from assistant.digest.content import CARD_LABELS
from assistant.digest.weeks import parse_week
from metrics.app_models import Digest
from metrics.scope import resolve_scope
from metrics.sections import kpis
from tests.conftest import Db
from tests.digest_support import WEEK, SmtpSink, load_book


@pytest.fixture
def book(db: Db, tmp_path: Path) -> tuple[Db, int]:
    ws = load_book(db, tmp_path)
    with db.engine.begin() as conn:
        store.subscribe(conn, ws, "tm1")  # own book
        store.subscribe(conn, ws, "bob@co.example", team=["tm1", "tm3"], day="tue", hour=7)
        store.subscribe(conn, ws, "Dee Partner", timezone="Europe/Berlin")
    return db, ws


@pytest.fixture
def sink() -> SmtpSink:
    with SmtpSink() as running:
        yield running


def service(db: Db, ws: int, sink: SmtpSink, **changes: object) -> DigestService:
    settings = DigestSettings(
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        backoff_s=0,
        base_url="http://pp.test",
        secret="test-secret",
        sender="PortalPulse <digest@pp.test>",
    ).replace(**changes)
    return DigestService(db.engine, ws, db.workspace, settings, sleep=lambda s: None)


def expected_cards(db: Db, ws: int, **filters: object) -> list[str]:
    """The card lines of the text part, computed from the kpis section directly."""
    with db.engine.connect() as conn:
        scope = resolve_scope(
            conn, ws, start="2026-03-02", end="2026-03-08", as_of="2026-03-08", **filters
        )
        result = kpis.compute(conn, scope)
    lines = []
    for key, label in CARD_LABELS.items():
        fmt = secs if key == "avg_session_seconds" else num
        value, before = getattr(result.kpis, key), getattr(result.previous, key)
        lines.append(f"- {label}: {fmt(value)} (")
        lines.append(f"; before: {fmt(before)})")
    return lines


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_right_recipients_content_and_numbers(book: tuple[Db, int], sink: SmtpSink) -> None:
    db, ws = book
    report = service(db, ws, sink).send(week=parse_week(WEEK))
    assert {(o.member_id, o.status) for o in report.outcomes} == {
        ("tm1", "sent"),
        ("tm2", "sent"),
        ("tm4", "sent"),
    }
    assert sorted(str(m["To"]) for m in sink.handler.messages) == [
        "Ann Owner <ann@co.example>",
        "Bob Manager <bob@co.example>",
        "Dee Partner <dee@co.example>",
    ]
    ann = text_of(sink.handler.to("ann@co.example")[0])
    for line in expected_cards(db, ws, owner="tm1"):
        assert line in ann
    # Ann's book only: her projects and partner, never Zed's.
    assert "Rollout" in ann and "Zeta" not in ann and "Zed setup" not in ann
    assert "Launchpad went live on 4 Mar 2026" in ann
    assert "BrightPath climbed the partner leaderboard from #2 to #1" in ann
    assert "Una Six <u6@acme.example>" in ann  # invited 3 March, never logged in
    assert "Kickoff call (Rollout, Ursula One), due 1 Mar 2026" in ann
    # The manager's team digest covers tm1 and tm3 together.
    bob = text_of(sink.handler.to("bob@co.example")[0])
    for line in expected_cards(db, ws, team=["tm1", "tm3"]):
        assert line in bob
    assert "Zed setup" in bob and "Kickoff call" in bob and "Overdue tasks (2)" in bob
    dee = text_of(sink.handler.to("dee@co.example")[0])
    assert "Nova Resell" not in dee.split("WINS")[1].split("TO CHASE")[0]  # Nova dropped


def test_team_filter_is_the_union_of_the_books(book: tuple[Db, int]) -> None:
    db, ws = book
    team = expected_cards(db, ws, team=["tm1", "tm3"])
    with db.engine.connect() as conn:

        def sessions(**filters: object) -> int:
            scope = resolve_scope(conn, ws, start="2026-03-02", end="2026-03-08", **filters)
            return kpis.compute(conn, scope).kpis.sessions

        assert sessions(team=["tm1", "tm3"]) == sessions(owner="tm1") + sessions(owner="tm3")
        assert sessions(team=["tm1"]) == sessions(owner="tm1") == 4
    assert team


def test_message_structure(book: tuple[Db, int], sink: SmtpSink) -> None:
    db, ws = book
    service(db, ws, sink).send(week=parse_week(WEEK), to="tm1")
    (message,) = sink.handler.messages
    assert message["Subject"].startswith("PortalPulse weekly digest 2026-W10: 4 visits")
    assert message["List-Unsubscribe"].startswith("<http://pp.test/digests/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["X-PortalPulse-Week"] == WEEK
    html_part = message.get_body(("html",))
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    html = html_part.get_content()
    assert f'src="cid:{cid}"' in html
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        "http://pp.test/?from=2026-03-02&amp;to=2026-03-08&amp;as_of=2026-03-08&amp;owner=tm1"
        in html
    )
    assert "<table" in html and "display:flex" not in html and "<style" not in html


def test_second_run_sends_nothing(book: tuple[Db, int], sink: SmtpSink) -> None:
    db, ws = book
    svc = service(db, ws, sink)
    assert svc.send(week=parse_week(WEEK)).count("sent") == 3
    again = svc.send(week=parse_week(WEEK))
    assert again.count("sent") == 0 and again.count("skipped") == 3
    assert all("already sent" in (o.error or "") for o in again.outcomes)
    assert len(sink.handler.messages) == 3
    with db.engine.connect() as conn:
        rows = store.ledger(conn, ws, WEEK)
    assert [(r.member_id, r.status, r.attempts) for r in rows] == [
        ("tm1", "sent", 1),
        ("tm2", "sent", 1),
        ("tm4", "sent", 1),
    ]
    assert all(r.message_id.startswith("<") and r.sent_at for r in rows)


def test_transient_failure_is_retried_and_the_rest_delivered(
    book: tuple[Db, int], sink: SmtpSink
) -> None:
    db, ws = book
    sink.handler.failures["bob@co.example"] = 2  # 451 twice, then accepted
    sink.handler.failures["dee@co.example"] = -1  # 451 forever
    delays: list[float] = []
    svc = service(db, ws, sink, max_attempts=3, backoff_s=0.5)
    svc.sleep = delays.append
    report = svc.send(week=parse_week(WEEK))
    outcome = {o.member_id: o for o in report.outcomes}
    assert (outcome["tm1"].status, outcome["tm1"].attempts) == ("sent", 1)
    assert (outcome["tm2"].status, outcome["tm2"].attempts) == ("sent", 3)
    assert (outcome["tm4"].status, outcome["tm4"].attempts) == ("failed", 3)
    assert "451" in outcome["tm4"].error and not report.ok
    assert delays == [0.5, 1.0, 0.5, 1.0]  # backoff doubles, no sleep after the last try
    assert sorted(str(m["To"]) for m in sink.handler.messages) == [
        "Ann Owner <ann@co.example>",
        "Bob Manager <bob@co.example>",
    ]
    with db.engine.connect() as conn:
        dee = next(r for r in store.ledger(conn, ws, WEEK) if r.member_id == "tm4")
    assert (dee.status, dee.attempts) == ("failed", 3) and "451" in dee.last_error
    # A later run retries the failed one only, once the server accepts it again.
    sink.handler.failures.clear()
    later = svc.send(week=parse_week(WEEK))
    assert {o.member_id: o.status for o in later.outcomes} == {
        "tm1": "skipped",
        "tm2": "skipped",
        "tm4": "sent",
    }
    assert len(sink.handler.to("dee@co.example")) == 1


def test_permanent_failure_is_not_retried(book: tuple[Db, int], sink: SmtpSink) -> None:
    db, ws = book

    class Refusing:
        sent = 0

        def __init__(self, settings: DigestSettings) -> None:
            pass

        def send(self, message) -> None:
            from assistant.digest.delivery import DeliveryError

            Refusing.sent += 1
            raise DeliveryError("SMTP 550 no such user", transient=False)

        def close(self) -> None:
            pass

    svc = service(db, ws, sink)
    svc.mailer_factory = Refusing
    report = svc.send(week=parse_week(WEEK), to="tm1")
    assert [(o.status, o.attempts) for o in report.outcomes] == [("failed", 1)]
    assert Refusing.sent == 1


def test_crash_during_smtp_is_in_doubt_until_released(book: tuple[Db, int], sink: SmtpSink) -> None:
    db, ws = book
    # A run claimed Ann's digest and started an SMTP attempt, then died.
    claim = store.claim(db.engine, ws, "tm1", WEEK, "ann@co.example", "<m1@pp.test>")
    store.start_attempt(db.engine, claim.digest_id)
    svc = service(db, ws, sink)
    # Just after, it cannot be told from a run still sending: left alone.
    busy = svc.send(week=parse_week(WEEK), to="tm1").outcomes[0]
    assert (busy.status, busy.error) == ("skipped", "being sent by another run")
    # Once quiet for longer than the lease it is in doubt, reported, never resent on its own.
    with db.engine.begin() as conn:
        conn.execute(
            update(Digest)
            .where(Digest.id == claim.digest_id)
            .values(updated_at=datetime.now(UTC) - timedelta(hours=1))
        )
    for _ in range(2):
        report = svc.send(week=parse_week(WEEK), to="tm1")
        assert [o.status for o in report.outcomes] == ["in_doubt"] and not report.ok
        assert "<m1@pp.test>" in report.outcomes[0].error
    assert sink.handler.messages == []
    with db.engine.begin() as conn:
        assert store.release_in_doubt(conn, ws, WEEK) == 1
    assert [o.status for o in svc.send(week=parse_week(WEEK), to="tm1").outcomes] == ["sent"]
    assert len(sink.handler.messages) == 1


def test_crash_before_smtp_is_reclaimed_after_the_lease(
    book: tuple[Db, int], sink: SmtpSink
) -> None:
    db, ws = book
    claim = store.claim(db.engine, ws, "tm1", WEEK, "ann@co.example", "<m2@pp.test>")
    svc = service(db, ws, sink)
    fresh = svc.send(week=parse_week(WEEK), to="tm1").outcomes[0]
    assert (fresh.status, fresh.error) == ("skipped", "being sent by another run")
    with db.engine.begin() as conn:
        conn.execute(
            update(Digest)
            .where(Digest.id == claim.digest_id)
            .values(claimed_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert [o.status for o in svc.send(week=parse_week(WEEK), to="tm1").outcomes] == ["sent"]
    with db.engine.connect() as conn:
        count = len(conn.execute(select(Digest.id).where(Digest.workspace_id == ws)).all())
    assert count == 1  # the same ledger row, reused


def test_a_broken_digest_does_not_stop_the_others(
    book: tuple[Db, int], sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, ws = book
    import assistant.digest.service as service_module

    real = service_module.build_content

    def flaky(conn, workspace_id, workspace, subscription, week, **kwargs):
        if subscription.member.member_id == "tm2":
            raise RuntimeError("boom")
        return real(conn, workspace_id, workspace, subscription, week, **kwargs)

    monkeypatch.setattr(service_module, "build_content", flaky)
    report = service(db, ws, sink).send(week=parse_week(WEEK))
    assert {o.member_id: o.status for o in report.outcomes} == {
        "tm1": "sent",
        "tm2": "failed",
        "tm4": "sent",
    }
    assert "boom" in next(o.error for o in report.outcomes if o.member_id == "tm2")


def test_due_subscriptions_follow_day_hour_and_time_zone(book: tuple[Db, int]) -> None:
    db, ws = book
    svc = DigestService(db.engine, ws, db.workspace, DigestSettings(secret="x"))
    # Monday 9 March 2026 07:30 UTC = 08:30 in Berlin: tm1 (mon 08 UTC) not yet,
    # tm4 (mon 08 Berlin) due, tm2 (tue 07 UTC) not yet.
    due = svc.targets(due_at=datetime(2026, 3, 9, 7, 30, tzinfo=UTC))
    assert [(s.member.member_id, w.label) for s, w in due] == [("tm4", WEEK)]
    later = svc.targets(due_at=datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
    assert [s.member.member_id for s, _ in later] == ["tm1", "tm2", "tm4"]


def test_subscription_management(book: tuple[Db, int]) -> None:
    db, ws = book
    with db.engine.begin() as conn:
        with pytest.raises(store.SubscriptionError, match=r"tm3 \(Cid Quiet\) has no email"):
            store.subscribe(conn, ws, "tm3")
        with pytest.raises(store.SubscriptionError, match=r"no team member .*'zz'"):
            store.subscribe(conn, ws, "tm1", team=["zz"])
        assert store.unsubscribe(conn, ws, "tm1") is True
        assert store.unsubscribe(conn, ws, "tm3") is False
        subs = {s.member.member_id: s for s in store.subscriptions(conn, ws)}
    assert subs["tm1"].enabled is False
    assert (subs["tm2"].team, subs["tm2"].day, subs["tm2"].hour) == (("tm1", "tm3"), "tue", 7)
    assert subs["tm4"].timezone == "Europe/Berlin"
    with db.engine.begin() as conn:
        again = store.subscribe(conn, ws, "tm1", day="fri", hour=16)
    assert again.enabled and (again.day, again.hour) == ("fri", 16)


def test_scheduler_tick_sends_what_is_due_once(book: tuple[Db, int], sink: SmtpSink) -> None:
    from assistant.digest.scheduler import tick

    db, ws = book
    svc = service(db, ws, sink)
    monday = datetime(2026, 3, 9, 7, 30, tzinfo=UTC)  # 08:30 in Berlin: only tm4 is due
    assert [(o.member_id, o.status) for o in tick(svc, monday).outcomes] == [("tm4", "sent")]
    assert [o.status for o in tick(svc, monday + timedelta(minutes=15)).outcomes] == ["skipped"]
    assert [str(m["To"]) for m in sink.handler.messages] == ["Dee Partner <dee@co.example>"]
    assert sink.handler.messages[0]["X-PortalPulse-Week"] == WEEK
