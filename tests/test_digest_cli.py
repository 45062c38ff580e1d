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
