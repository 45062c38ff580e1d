"""``portalpulse digest``: subscriptions, preview, send and the ledger from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cli import app
from cli.common import run_app
from tests.conftest import Db
from tests.digest_support import SmtpSink, load_book
from tests.webhook_support import Receiver


@pytest.fixture
def cli(sqlite_db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    load_book(sqlite_db, tmp_path)
    for name in ("PORTALPULSE_SECRET", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTALPULSE_SMTP_BACKOFF_S", "0")

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["portalpulse", *args, "--db", sqlite_db.url])
        code = run_app(app)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_subscribe_list_unsubscribe(cli) -> None:
    code, out, _ = cli("digest", "subscribe", "--member", "tm1", "--day", "Monday", "--hour", "7")
    assert code == 0 and "Subscribed Ann Owner <ann@co.example> (own book): mon 07:00 UTC" in out
    code, out, _ = cli(
        "digest", "subscribe", "-m", "Bob Manager", "--team", "tm1,tm3", "--tz", "Europe/Berlin"
    )
    assert code == 0 and "(team tm1, tm3): mon 08:00 Europe/Berlin" in out
    code, out, _ = cli("digest", "list", "--json")
    listed = {r["member_id"]: r for r in json.loads(out)}
    assert listed["tm2"]["team"] == ["tm1", "tm3"] and listed["tm1"]["hour"] == 7
    code, out, _ = cli("digest", "unsubscribe", "--member", "ann@co.example")
    assert code == 0 and "Unsubscribed Ann Owner (tm1)" in out
    code, out, _ = cli("digest", "list", "--json")
    assert [r["enabled"] for r in json.loads(out)] == [False, True]


def test_clear_errors(cli) -> None:
    cases = [
        (("digest", "subscribe", "-m", "nobody"), "no team member with id, email or name 'nobody'"),
        (("digest", "subscribe", "-m", "tm3"), "tm3 (Cid Quiet) has no email address"),
        (("digest", "subscribe", "-m", "tm1", "--hour", "25"), "hour: 25 is not an hour"),
        (("digest", "subscribe", "-m", "tm1", "--day", "someday"), "day: 'someday'"),
        (("digest", "send", "--week", "W47"), "week: 'W47' is not an ISO week"),
        (("digest", "send", "--due", "--week", "2026-W10"), "--due picks each subscription"),
        (("digest", "send", "--to", "tm4"), "tm4 (Dee Partner) has no enabled digest"),
        (("digest", "unsubscribe", "-m", "tm4"), "tm4 (Dee Partner) has no digest subscription"),
    ]
    for args, message in cases:
        code, _, err = cli(*args)
        assert code == 1 and message in " ".join(err.split()), (args, err)
        assert "Traceback" not in err


def test_preview_and_send_for_cron(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("digest", "subscribe", "-m", "tm1")
    html = tmp_path / "ann.html"
    code, out, _ = cli(
        "digest", "preview", "--to", "tm1", "--week", "2026-W10", "--html", str(html)
    )
    assert code == 0 and "Your book, week 2026-W10" in html.read_text()
    code, out, _ = cli("digest", "preview", "--to", "ann@co.example", "--week", "2026-W10")
    assert code == 0 and out.startswith("PORTALPULSE WEEKLY DIGEST: your book, week 2026-W10")
    code, out, _ = cli("digest", "preview", "--to", "tm1", "--week", "2026-W10", "--chat", "slack")
    slack = json.loads(out)  # pure JSON on stdout
    assert code == 0 and slack["blocks"][0]["text"]["text"].endswith("week 2026-W10")
    code, _, err = cli("digest", "preview", "--to", "tm1", "--chat", "discord")
    assert code == 1 and "--chat must be one of slack, teams, got 'discord'" in err
    with SmtpSink() as sink:
        monkeypatch.setenv("PORTALPULSE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("PORTALPULSE_SMTP_PORT", str(sink.port))
        code, out, _ = cli("digest", "send", "--week", "2026-W10", "--json")
        assert code == 0 and [o["status"] for o in json.loads(out)] == ["sent"]
        code, out, _ = cli("digest", "send", "--week", "2026-W10")
        assert code == 0 and "0 sent, 1 skipped" in out
        assert len(sink.handler.messages) == 1
        sink.handler.failures["ann@co.example"] = -1
    code, out, _ = cli("digest", "log", "--json")
    (row,) = json.loads(out)
    assert (row["week"], row["status"], row["attempts"]) == ("2026-W10", "sent", 1)
    # Nothing listens any more: a failed send exits 1 so cron reports it.
    monkeypatch.setenv("PORTALPULSE_SMTP_MAX_ATTEMPTS", "2")
    code, out, err = cli("digest", "send", "--week", "2026-W11")
    assert code == 1 and "1 failed" in out and "1 digest(s) failed or in doubt" in err


def test_webhook_subscription_and_send(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "/services/T0/B0/CLISECRET"
    with Receiver() as receiver:
        code, out, _ = cli(
            "digest", "subscribe", "-m", "tm3", "--no-email",
            "--webhook-url", receiver.url(secret), "--webhook-kind", "Slack",
        )  # fmt: skip
        shown = f"http://127.0.0.1:{receiver.port}/…"
        said = " ".join(out.split())
        assert code == 0 and f"Subscribed Cid Quiet webhook slack {shown} (own book)" in said
        code, out, _ = cli(
            "digest", "subscribe", "-m", "tm1",
            "--webhook-url", "https://hooks.slack.com/services/T/B/X", "--webhook-kind", "teams",
        )  # fmt: skip
        said = " ".join(out.split())
        assert code == 0 and "<ann@co.example> and webhook teams https://hooks.slack.com/…" in said
        code, listed, _ = cli("digest", "list", "--json")
        rows = {r["member_id"]: r for r in json.loads(listed)}
        assert rows["tm3"]["email_delivery"] is False
        assert rows["tm3"]["webhook"] == {"kind": "slack", "url": shown}
        assert rows["tm1"]["email_delivery"] is True
        code, table, _ = cli("digest", "list")
        assert code == 0 and "(no email)" in table and "CLISECRET" not in listed + table
        code, out, _ = cli("digest", "send", "--week", "2026-W10", "--to", "tm3", "--json")
        assert code == 0
        [sent] = json.loads(out)
        assert (sent["channel"], sent["status"], sent["email"]) == (
            "webhook",
            "sent",
            f"slack {shown}",
        )
        assert len(receiver.to(secret)) == 1
        code, out, _ = cli("digest", "send", "--week", "2026-W10", "--to", "tm3")
        assert code == 0 and "0 sent, 1 skipped" in out and len(receiver.posts) == 1
        assert "CLISECRET" not in out
        code, log, _ = cli("digest", "log", "--json")
        [row] = json.loads(log)
        assert (row["channel"], row["email"], row["status"]) == (
            "webhook",
            f"slack {shown}",
            "sent",
        )
        assert "CLISECRET" not in out + log
        code, out, _ = cli("digest", "subscribe", "-m", "tm1", "--no-webhook")
        assert code == 0 and "webhook" not in out


def test_webhook_errors(cli) -> None:
    url = "https://hooks.slack.com/services/T/B/X"
    cases = [
        (
            ("--webhook-url", "ftp://hooks.example/x", "--webhook-kind", "slack"),
            "--webhook-url: webhook URL must start with http:// or https://, got ftp:…",
        ),
        (
            ("--webhook-url", "https://", "--webhook-kind", "slack"),
            "--webhook-url: webhook URL has no host: https://…",
        ),
        (
            ("--webhook-url", url, "--webhook-kind", "discord"),
            "--webhook-kind: webhook kind must be one of slack, teams, got 'discord'",
        ),
        (("--webhook-url", url), "--webhook-url and --webhook-kind (slack or teams) go together"),
        (("--webhook-url", url, "--webhook-kind", "slack", "--no-webhook"), "--no-webhook"),
        (("--no-email",), "the digest of tm1 (Ann Owner) needs email delivery or a webhook"),
    ]
    for args, message in cases:
        code, _, err = cli("digest", "subscribe", "-m", "tm1", *args)
        assert code == 1 and message in " ".join(err.split()), (args, err)
        assert "Traceback" not in err
