"""Weekly digests posted to Slack / Teams incoming webhooks, against a real HTTP receiver
on loopback, on both backends: one post per subscription and week, the email's content
and links, retries, permanent failures, in-doubt timeouts, URL checks and redaction."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assistant.digest import DigestService, DigestSettings, store
from assistant.digest.chat import ADAPTIVE_CARD, MAX_BLOCKS, MAX_TEXT
from assistant.digest.render import card_previous, card_value
from assistant.digest.webhook import redact
from assistant.digest.weeks import parse_week
from metrics.app_models import Digest
from tests.conftest import Db
from tests.digest_support import WEEK, SmtpSink, free_port, load_book
from tests.webhook_support import Receiver

SLACK_PATH = "/services/T000/B000/SLACKSECRET"
TEAMS_PATH = "/workflows/abc/triggers/manual/run?sig=TEAMSSECRET"
URL = re.compile(r"https?://[^\s|>)\]\"]+")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def book(db: Db, tmp_path: Path, receiver: Receiver) -> tuple[Db, int]:
    ws = load_book(db, tmp_path)
    with db.engine.begin() as conn:
        # Ann: email and Slack; Bob: email only; Dee: Teams only.
        store.subscribe(conn, ws, "tm1", webhook=("slack", receiver.url(SLACK_PATH)))
        store.subscribe(conn, ws, "tm2", team=["tm1", "tm3"])
        store.subscribe(conn, ws, "tm4", email=False, webhook=("teams", receiver.url(TEAMS_PATH)))
    return db, ws


def service(db: Db, ws: int, smtp_port: int, **changes: Any) -> DigestService:
    settings = DigestSettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_timeout_s=10,
        webhook_timeout_s=10,
        backoff_s=0,
        base_url="http://pp.test",
        secret="test-secret",
        sender="PortalPulse <digest@pp.test>",
    ).replace(**changes)
    return DigestService(db.engine, ws, db.workspace, settings, sleep=lambda s: None)


def outcomes(report: Any) -> set[tuple[str, str, str]]:
    return {(o.member_id, o.channel, o.status) for o in report.outcomes}


def ledger(db: Db, ws: int) -> list[Any]:
    with db.engine.connect() as conn:
        return store.ledger(conn, ws, WEEK)


def texts(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


UNSUBSCRIBE = "/digests/unsubscribe"


def shared(found: set[str]) -> set[str]:
    """The links a channel post carries: the email's, but the member's unsubscribe."""
    return {link for link in found if UNSUBSCRIBE not in link}


def links(text: str) -> set[str]:
    return set(URL.findall(text))


def test_one_post_per_subscription_with_the_emails_content(
    book: tuple[Db, int], receiver: Receiver, sink: SmtpSink
) -> None:
    db, ws = book
    svc = service(db, ws, sink.port)
    report = svc.send(week=parse_week(WEEK))
    assert report.ok
    assert outcomes(report) == {
        ("tm1", "email", "sent"),
        ("tm1", "webhook", "sent"),
        ("tm2", "email", "sent"),
        ("tm4", "webhook", "sent"),
    }
    assert sorted(str(m["To"]) for m in sink.handler.messages) == [
        "Ann Owner <ann@co.example>",
        "Bob Manager <bob@co.example>",
    ]
    assert len(receiver.posts) == 2
    [slack] = receiver.to(SLACK_PATH)
    [teams] = receiver.to(TEAMS_PATH)
    assert slack.content_type.startswith("application/json")

    # Slack: Block Kit within its limits, the email's figures and every link it has.
    ann_mail = next(m for m in sink.handler.messages if "ann@" in str(m["To"]))
    ann_text = ann_mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    blocks = slack.body["blocks"]
    assert slack.body["text"] == str(ann_mail["Subject"])
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert blocks[0]["type"] == "header" and WEEK in blocks[0]["text"]["text"]
    assert {b["type"] for b in blocks} >= {"header", "section", "context", "actions"}
    assert all(len(t) <= MAX_TEXT for t in texts(blocks))
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    content = svc.prepare(svc.subscription_for("tm1"), parse_week(WEEK)).content
    assert fields == [
        f"*{c.label}*\n{card_value(c)} ("
        + ann_text.split(f"- {c.label}: {card_value(c)} (")[1].split("\n")[0]
        for c in content.cards
    ]
    assert all(
        f"before: {card_previous(c)})" in f for c, f in zip(content.cards, fields, strict=True)
    )
    slack_json = json.dumps(slack.body)
    # every link of the email but the member's own unsubscribe (a channel is shared)
    assert any(UNSUBSCRIBE in link for link in links(ann_text))
    assert shared(links(ann_text)) <= links(slack_json.replace("\\u2026", ""))
    assert UNSUBSCRIBE not in slack_json
    buttons = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [b["url"] for b in buttons] == [content.dashboard_link]
    for risk in content.risks:
        assert any(risk.entity in t and risk.link in t for t in texts(blocks))
    assert "Launchpad went live on" in slack_json  # the win of the week
    assert "Una Six" in slack_json  # invited, never logged in

    # Teams: an Adaptive Card in a message, with the preview's figures and links.
    _, dee_text, prepared = svc.preview("tm4", parse_week(WEEK))
    dee_text = dee_text.replace("\r\n", "\n")
    assert teams.body["type"] == "message"
    [attachment] = teams.body["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"]
    [facts] = [b["facts"] for b in card["body"] if b["type"] == "FactSet"]
    assert [(f["title"], f["value"].split(" (")[0]) for f in facts] == [
        (c.label, card_value(c)) for c in prepared.content.cards
    ]
    for c in prepared.content.cards:
        assert f"- {c.label}: {card_value(c)} (" in dee_text
    assert shared(links(dee_text)) <= links(json.dumps(teams.body))
    assert UNSUBSCRIBE not in json.dumps(teams.body)
    assert [a["type"] for a in card["actions"]] == ["Action.OpenUrl"]
    assert card["actions"][0]["url"] == prepared.content.dashboard_link

    # A rerun (or the scheduler's next tick) posts nothing more.
    again = svc.send(week=parse_week(WEEK))
    assert {o.status for o in again.outcomes} == {"skipped"}
    assert len(receiver.posts) == 2 and len(sink.handler.messages) == 2
    assert [(r.member_id, r.channel, r.status, r.attempts) for r in ledger(db, ws)] == [
        ("tm1", "email", "sent", 1),
        ("tm1", "webhook", "sent", 1),
        ("tm2", "email", "sent", 1),
        ("tm4", "webhook", "sent", 1),
    ]


def test_500_is_retried_then_delivered_once(
    book: tuple[Db, int], receiver: Receiver, sink: SmtpSink
) -> None:
    db, ws = book
    receiver.script[SLACK_PATH] = [(500, "internal error", 0), (503, "busy", 0)]
    report = service(db, ws, sink.port).send(week=parse_week(WEEK), to="tm1")
    assert [(o.channel, o.status, o.attempts) for o in report.outcomes] == [
        ("email", "sent", 1),
        ("webhook", "sent", 3),
    ]
    assert [p.status for p in receiver.to(SLACK_PATH, accepted=False)] == [500, 503, 200]
    assert len(receiver.to(SLACK_PATH)) == 1


def test_4xx_is_failed_at_once_with_status_and_body(
    book: tuple[Db, int], receiver: Receiver, sink: SmtpSink
) -> None:
    db, ws = book
    receiver.script[TEAMS_PATH] = [(400, "Bad payload: attachments missing", 0)]
    report = service(db, ws, sink.port).send(week=parse_week(WEEK), to="tm4")
    [outcome] = report.outcomes
    assert (outcome.channel, outcome.status, outcome.attempts) == ("webhook", "failed", 1)
    assert not report.ok
    assert len(receiver.posts) == 1  # not retried
    row = next(r for r in ledger(db, ws) if r.member_id == "tm4")
    assert row.status == store.FAILED
    assert "HTTP 400 Bad payload: attachments missing" in row.last_error
    assert f"http://127.0.0.1:{receiver.port}/…" in row.last_error
    assert "TEAMSSECRET" not in row.last_error and "workflows" not in row.last_error


def test_timeout_after_sending_is_in_doubt_and_never_resent(
    book: tuple[Db, int], receiver: Receiver, sink: SmtpSink
) -> None:
    db, ws = book
    receiver.script[SLACK_PATH] = [(200, "ok", 1.5)]  # posted, but the answer comes late
    svc = service(db, ws, sink.port, webhook_timeout_s=0.4)
    first = svc.send(week=parse_week(WEEK), to="tm1")
    assert [(o.channel, o.status, o.attempts) for o in first.outcomes] == [
        ("email", "sent", 1),
        ("webhook", "in_doubt", 1),
    ]
    assert "in doubt" in (first.outcomes[1].error or "") and not first.ok
    for _ in range(2):
        again = svc.send(week=parse_week(WEEK), to="tm1")
        assert [(o.channel, o.status) for o in again.outcomes] == [
            ("email", "skipped"),
            ("webhook", "in_doubt"),
        ]
    assert len(receiver.to(SLACK_PATH, accepted=False)) == 1  # never resent
    webhook_row = next(r for r in ledger(db, ws) if r.channel == "webhook")
    assert (webhook_row.status, webhook_row.attempts) == (store.IN_DOUBT, 1)
    # An operator who finds it missing in the channel releases it: posted once more.
    with db.engine.begin() as conn:
        assert store.release_in_doubt(conn, ws, WEEK) == 1
    final = service(db, ws, sink.port).send(week=parse_week(WEEK), to="tm1")
    assert [(o.channel, o.status) for o in final.outcomes] == [
        ("email", "skipped"),
        ("webhook", "sent"),
    ]
    assert len(receiver.to(SLACK_PATH, accepted=False)) == 2


def test_connection_refused_is_retried_and_left_for_the_next_run(
    db: Db, tmp_path: Path, sink: SmtpSink
) -> None:
    ws = load_book(db, tmp_path)
    closed = f"http://127.0.0.1:{free_port()}{SLACK_PATH}"
    with db.engine.begin() as conn:
        store.subscribe(conn, ws, "tm1", email=False, webhook=("slack", closed))
    svc = service(db, ws, sink.port, max_attempts=3)
    [outcome] = svc.send(week=parse_week(WEEK)).outcomes
    assert (outcome.status, outcome.attempts) == ("failed", 3)
    assert "could not connect" in (outcome.error or "")
    [row] = ledger(db, ws)
    assert (row.channel, row.status) == ("webhook", store.FAILED)
    [again] = svc.send(week=parse_week(WEEK)).outcomes  # a failure is tried again
    assert (again.status, again.attempts) == ("failed", 6)


def test_webhook_checks(book: tuple[Db, int], receiver: Receiver) -> None:
    db, ws = book
    bad = [
        (("slack", "ftp://hooks.example/x"), "must start with http:// or https://, got ftp:"),
        (("slack", "hooks.slack.com/services/x"), "got a URL without a scheme"),
        (("slack", "https:///services/x"), "webhook URL has no host"),
        (("slack", "https://hooks.example:99999/x"), "invalid port"),
        (("discord", "https://hooks.example/x"), "webhook kind must be one of slack, teams"),
        (("teams", "https://hooks.example/päth"), "must be ASCII"),
        (("teams", "https://hooks.example/a b"), "must not contain spaces"),
        (("teams", "https://hooks.example/" + "x" * 2000), "longer than 2000 characters"),
    ]
    for webhook, message in bad:
        with db.engine.begin() as conn, pytest.raises(store.SubscriptionError, match=message) as e:
            store.subscribe(conn, ws, "tm1", webhook=webhook)
        assert "/x" not in str(e.value) and "päth" not in str(e.value)  # no path shown
    assert redact("https://user:pw@hooks.example:8443/T/B/SECRET?sig=1") == (
        "https://hooks.example:8443/…"
    )
    with db.engine.begin() as conn:
        with pytest.raises(store.SubscriptionError, match="needs email delivery or a webhook"):
            store.subscribe(conn, ws, "tm1", email=False, remove_webhook=True)
        with pytest.raises(store.SubscriptionError, match=r"tm3 .* has no email address"):
            store.subscribe(conn, ws, "tm3")
        cid = store.subscribe(
            conn, ws, "tm3", email=False, webhook=("teams", receiver.url(TEAMS_PATH))
        )
        assert cid.channels == ("webhook",)
        # An update that leaves the webhook out keeps it; removing it leaves the email.
        kept = store.subscribe(conn, ws, "tm1", day="fri")
        assert (kept.day, kept.webhook_kind) == ("fri", "slack")
        assert kept.webhook_url == receiver.url(SLACK_PATH)
        gone = store.subscribe(conn, ws, "tm1", remove_webhook=True)
        assert gone.channels == ("email",) and gone.webhook_url is None
        [ann] = [s for s in store.subscriptions(conn, ws) if s.member.member_id == "tm1"]
        assert ann.email_delivery and ann.webhook_kind is None and ann.webhook_shown is None


def test_the_url_is_never_shown(
    book: tuple[Db, int], receiver: Receiver, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    db, ws = book
    receiver.script[SLACK_PATH] = [(500, f"Cannot POST {SLACK_PATH}", 0)] * 3  # echoes it
    receiver.script[TEAMS_PATH] = [(404, f"no such hook: {receiver.url(TEAMS_PATH)}", 0)]
    with caplog.at_level(logging.DEBUG):
        report = service(db, ws, sink.port).send(week=parse_week(WEEK))
    shown = [repr(o) for o in report.outcomes] + [caplog.text]
    with db.engine.connect() as conn:
        shown += [repr(tuple(r)) for r in store.ledger(conn, ws)]
        shown += [repr(s) for s in store.subscriptions(conn, ws)]
    for text in shown:
        assert "SLACKSECRET" not in text and "TEAMSSECRET" not in text
    errors = {o.member_id: o.error for o in report.outcomes if o.channel == "webhook"}
    assert errors == {
        "tm1": f"webhook http://127.0.0.1:{receiver.port}/…: HTTP 500 Cannot POST /…",
        "tm4": f"webhook http://127.0.0.1:{receiver.port}/…: HTTP 404 no such hook: /…",
    }
    hooks = {o.member_id: o.email for o in report.outcomes if o.channel == "webhook"}
    assert hooks == {
        "tm1": f"slack http://127.0.0.1:{receiver.port}/…",
        "tm4": f"teams http://127.0.0.1:{receiver.port}/…",
    }
    with db.engine.connect() as conn:
        stored = conn.execute(
            select(Digest.email).where(Digest.workspace_id == ws, Digest.channel == "webhook")
        ).scalars()
        assert sorted(stored) == sorted(hooks.values())


def test_a_broken_webhook_body_does_not_stop_the_email(
    book: tuple[Db, int], receiver: Receiver, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, ws = book

    def broken(kind: str, content: Any, summary: Any) -> dict[str, Any]:
        raise KeyError("blocks")

    monkeypatch.setattr("assistant.digest.service.payload", broken)
    report = service(db, ws, sink.port).send(week=parse_week(WEEK), to="tm1")
    assert [(o.channel, o.status) for o in report.outcomes] == [
        ("email", "sent"),
        ("webhook", "failed"),
    ]
    assert "could not render the webhook body: KeyError" in (report.outcomes[1].error or "")
    assert len(sink.handler.messages) == 1 and receiver.posts == []
    monkeypatch.undo()  # fixed: the next run posts it, and mails nothing again
    again = service(db, ws, sink.port).send(week=parse_week(WEEK), to="tm1")
    assert [(o.channel, o.status) for o in again.outcomes] == [
        ("email", "skipped"),
        ("webhook", "sent"),
    ]
    assert len(sink.handler.messages) == 1 and len(receiver.to(SLACK_PATH)) == 1
