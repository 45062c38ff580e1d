"""Digest summary (model under the grounding check, or the template), rendering in a real
browser, and the small pure pieces: weeks, tokens, settings."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.digest import DigestService, DigestSettings, DigestSettingsError
from assistant.digest.content import DigestContent
from assistant.digest.render import figures
from assistant.digest.summary import summarize, templated
from assistant.digest.tokens import TokenError, sign, verify
from assistant.digest.weeks import WeekError, due_week, last_complete_week, parse_week
from assistant.grounding import check
from assistant.settings import Settings
from tests.conftest import Db
from tests.digest_support import WEEK, load_book
from tests.llm_stub import Completion, LLMStub

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def content(sqlite_db: Db, tmp_path: Path) -> DigestContent:
    ws = load_book(sqlite_db, tmp_path)
    service = DigestService(sqlite_db.engine, ws, "default", DigestSettings(secret="k"))
    return service.prepare(service.subscription_for("tm1"), parse_week(WEEK)).content


def llm_settings(stub: LLMStub) -> Settings:
    return Settings(provider="openai", base_url=stub.base_url, model="stub", max_retries=0)


def test_templated_summary_is_grounded(content: DigestContent) -> None:
    text = templated(content)
    assert text.startswith("Week 2026-W10: 4 visits from 3 active users")
    assert check(text, [content.facts()]).grounded
    summary = summarize(content, Settings())  # offline: no model configured
    assert (summary.source, summary.text, summary.note) == ("template", text, None)


def test_model_summary_grounded_is_used(content: DigestContent) -> None:
    said = "Your book had 4 visits from 3 active users this week; Launchpad went live."
    with LLMStub() as stub:
        stub.enqueue(Completion(content=said))
        summary = summarize(content, llm_settings(stub))
        facts = stub.bodies[0]["messages"][1]["content"]
    assert (summary.source, summary.text, summary.grounded) == ("llm", said, True)
    assert '"week": "2026-W10"' in facts and "pp.test" not in facts  # figures, no links


def test_model_summary_ungrounded_falls_back_to_the_template(content: DigestContent) -> None:
    with LLMStub() as stub:
        stub.enqueue(
            Completion(content="Visits rose to 57 this week."),
            Completion(content="Visits rose to 58 this week."),
        )
        summary = summarize(content, llm_settings(stub))
        retry = stub.bodies[1]["messages"][-1]["content"]
    assert summary.source == "template" and summary.text == templated(content)
    assert "58" in summary.note and "57" in retry  # one retry with the ungrounded numbers


def test_model_failure_falls_back_to_the_template(content: DigestContent) -> None:
    with LLMStub() as stub:  # empty script: the stub answers 500
        summary = summarize(content, llm_settings(stub))
    assert summary.source == "template" and "model failed" in summary.note


def test_html_renders_in_headless_chromium(content: DigestContent, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("PORTALPULSE_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (PORTALPULSE_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    from assistant.digest.chart import trend_png
    from assistant.digest.render import data_url, render_parts
    from assistant.digest.summary import Summary

    html, _ = render_parts(
        content,
        Summary(templated(content), "template", True),
        image_src=data_url(trend_png(content.trend)),
    )
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "digest-screenshot.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=700,1600",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real page, not blank


def test_chart_is_a_png(content: DigestContent) -> None:
    from assistant.digest.chart import trend_png

    png = trend_png(content.trend)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # Ann's book: W09 u1 and u4 (Nova's u5 is not hers); W10 u1, u2 and u4 twice.
    assert [p.sessions for p in content.trend][-2:] == [2, 4] and len(content.trend) == 8


def test_risk_figures_read_as_words() -> None:
    shown = figures({"invited": 5, "logged_in": 0, "conversion": 0.0, "last_visit": "2026-03-01"})
    assert shown == "invited 5 · logged in 0 · conversion 0.0% · last visit 1 Mar 2026"


def test_weeks() -> None:
    week = parse_week("2026-W10")
    assert (week.monday.isoformat(), week.sunday.isoformat(), str(week)) == (
        "2026-03-02",
        "2026-03-08",
        "2026-W10",
    )
    assert parse_week("2026w1").label == "2026-W01" and week.shift(-10).label == "2025-W52"
    for bad, message in (("2026-W54", "no week 54"), ("last week", "not an ISO week")):
        with pytest.raises(WeekError, match=message):
            parse_week(bad)
    assert last_complete_week(datetime(2026, 3, 9, 0, 1, tzinfo=UTC)) == week
    # Monday 08:00 in New York is 13:00 UTC (EDT from 8 March 2026).
    assert due_week("mon", 8, "America/New_York", datetime(2026, 3, 9, 11, 59, tzinfo=UTC)) is None
    assert due_week("mon", 8, "America/New_York", datetime(2026, 3, 9, 12, 0, tzinfo=UTC)) == week
    assert due_week("sun", 23, "UTC", datetime(2026, 3, 15, 22, 0, tzinfo=UTC)) is None
    with pytest.raises(WeekError, match="IANA time zone"):
        due_week("mon", 8, "Nowhere/City", datetime(2026, 3, 9, tzinfo=UTC))


def test_tokens() -> None:
    token = sign(b"key", 7, "tm_01")
    assert verify(b"key", token).member_id == "tm_01" and verify(b"key", token).workspace_id == 7
    with pytest.raises(TokenError, match="bad signature"):
        verify(b"other", token)
    with pytest.raises(TokenError, match="malformed"):
        verify(b"key", "no-dot-here")


def test_settings_from_env() -> None:
    s = DigestSettings.from_env(
        {
            "PORTALPULSE_SMTP_HOST": "mail.example.com",
            "PORTALPULSE_SMTP_TLS": "STARTTLS",
            "PORTALPULSE_SMTP_USER": "u",
            "PORTALPULSE_SMTP_PASSWORD": "hunter2",
            "PORTALPULSE_BASE_URL": "https://pp.example.com/",
            "PORTALPULSE_DIGEST_SCHEDULER": "1",
        }
    )
    assert (s.smtp_tls, s.port, s.base_url, s.scheduler) == (
        "starttls",
        587,
        "https://pp.example.com",
        True,
    )
    assert s.smtp_password == "hunter2" and "hunter2" not in repr(s)
    cases = {
        "PORTALPULSE_SMTP_PORT": ("abc", "must be a whole number"),
        "PORTALPULSE_SMTP_TLS": ("tls13", "must be one of none, starttls, ssl"),
        "PORTALPULSE_SMTP_FROM": ("nobody", "must be an email address"),
        "PORTALPULSE_SMTP_MAX_ATTEMPTS": ("0", ">= 1"),
        "PORTALPULSE_BASE_URL": ("pp.example.com", "http:// or https://"),
        "PORTALPULSE_DIGEST_SCHEDULER": ("maybe", "must be 1 or 0"),
    }
    for name, (value, message) in cases.items():
        with pytest.raises(DigestSettingsError, match=f"{name} .*{message}"):
            DigestSettings.from_env({name: value})


def test_names_from_data_are_escaped_in_html(content: DigestContent) -> None:
    from assistant.digest.render import render_parts
    from assistant.digest.summary import Summary

    risky = content.model_copy(
        update={"risks": [content.risks[0].model_copy(update={"entity": "<script>x</script>"})]}
    )
    html, text = render_parts(risky, Summary("ok", "template", True), image_src=None)
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x</script>" in text  # plain text is not HTML
    assert "<img" not in html  # no chart without an image source


def test_a_run_with_a_model_mails_its_grounded_summary(sqlite_db: Db, tmp_path: Path) -> None:
    from assistant.digest import store
    from tests.digest_support import SmtpSink

    ws = load_book(sqlite_db, tmp_path)
    with sqlite_db.engine.begin() as conn:
        store.subscribe(conn, ws, "tm1")
        store.subscribe(conn, ws, "tm4")
    said = "Your book had 4 visits this week, up from 2."
    with SmtpSink() as sink, LLMStub() as stub:
        stub.enqueue(Completion(content=said), Completion(content="Nova had 99 visits."))
        stub.enqueue(Completion(content="Nova had 98 visits."))
        # One worker: the stub answers in arrival order, so the two digests must not race.
        settings = DigestSettings(smtp_host="127.0.0.1", smtp_port=sink.port, secret="k", workers=1)
        service = DigestService(sqlite_db.engine, ws, "default", settings, llm_settings(stub))
        report = service.send(week=parse_week(WEEK))
    sources = {o.member_id: (o.status, o.summary_source) for o in report.outcomes}
    assert sources == {"tm1": ("sent", "llm"), "tm4": ("sent", "template")}
    ann = sink.handler.to("ann@co.example")[0].get_body(("plain",)).get_content()
    assert said in ann
    dee = sink.handler.to("dee@co.example")[0].get_body(("plain",)).get_content()
    assert "99" not in dee and "98" not in dee and "Week 2026-W10:" in dee


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_is_used_and_bad_credentials_are_permanent() -> None:
    from email.message import EmailMessage

    from assistant.digest.delivery import DeliveryError, SmtpMailer
    from tests.digest_support import SmtpSink

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@pp.test", "b@pp.test", "hi"
    message.set_content("hello")
    with SmtpSink(login=("digest", "s3cret")) as sink:
        base = DigestSettings(smtp_host="127.0.0.1", smtp_port=sink.port)
        with SmtpMailer(base.replace(smtp_user="digest", smtp_password="s3cret")) as mailer:
            mailer.send(message)
        assert len(sink.handler.messages) == 1
        wrong = base.replace(smtp_user="digest", smtp_password="wrong")
        with SmtpMailer(wrong) as mailer, pytest.raises(DeliveryError, match="535") as failed:
            mailer.send(message)
        assert failed.value.transient is False
        # No login where the server requires one.
        with SmtpMailer(base) as mailer, pytest.raises(DeliveryError, match="530"):
            mailer.send(message)
    assert len(sink.handler.messages) == 1


def test_lists_cut_short_say_how_many_more(content: DigestContent) -> None:
    from assistant.digest.render import render_parts
    from assistant.digest.summary import Summary

    assert content.never_logged_in and content.overdue_tasks
    longer = content.model_copy(
        update={
            "never_logged_in": content.never_logged_in[:1],
            "never_logged_in_total": 14,
            "overdue_tasks": content.overdue_tasks[:1],
            "overdue_tasks_total": 5,
        }
    )
    html, text = render_parts(longer, Summary("ok", "template", True), image_src=None)
    assert "Invited, never logged in (14)" in text and "- and 13 more: " in text
    assert "- and 4 more: " in text
    assert "and 13 more — <a href=" in html and "and 4 more — <a href=" in html
    whole = content.model_copy(
        update={"never_logged_in_total": len(content.never_logged_in),
                "overdue_tasks_total": len(content.overdue_tasks)}
    )  # fmt: skip
    html, text = render_parts(whole, Summary("ok", "template", True), image_src=None)
    assert " more" not in text.split("TO CHASE")[1]
