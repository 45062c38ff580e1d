"""The digest pages of the web app: preview, unsubscribe by signed token, the scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.digest import store
from assistant.digest.tokens import sign, signing_key
from server import Config, create_app
from tests.api_support import LOCAL
from tests.conftest import Db
from tests.digest_support import load_book


@pytest.fixture
def app_and_ws(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Db, int]]:
    monkeypatch.delenv("PORTALPULSE_SECRET", raising=False)
    monkeypatch.delenv("PORTALPULSE_DIGEST_SCHEDULER", raising=False)
    monkeypatch.setenv("PORTALPULSE_BASE_URL", "http://pp.test")
    ws = load_book(db, tmp_path)
    with db.engine.begin() as conn:
        store.subscribe(conn, ws, "tm1")
    app = create_app(Config(database_url=db.url, workspace=db.workspace))
    with TestClient(app, client=LOCAL) as client:
        yield client, db, ws


def _enabled(db: Db, ws: int, member: str) -> bool:
    with db.engine.connect() as conn:
        return next(
            s.enabled for s in store.subscriptions(conn, ws) if s.member.member_id == member
        )


def test_unsubscribe_with_a_valid_token(app_and_ws: tuple[TestClient, Db, int]) -> None:
    client, db, ws = app_and_ws
    token = sign(signing_key(db.engine), ws, "tm1")  # the generated key kept in the database
    form = client.get("/digests/unsubscribe", params={"token": token})
    assert form.status_code == 200 and "<form method='post'" in form.text
    assert _enabled(db, ws, "tm1")  # a GET (e.g. a link scanner) changes nothing
    done = client.post("/digests/unsubscribe", params={"token": token})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert not _enabled(db, ws, "tm1")
    assert client.post("/digests/unsubscribe", params={"token": token}).status_code == 200


def test_tampered_token_is_a_400(app_and_ws: tuple[TestClient, Db, int]) -> None:
    client, db, ws = app_and_ws
    token = sign(signing_key(db.engine), ws, "tm1")
    payload, signature = token.split(".")
    other = sign(signing_key(db.engine), ws, "tm2").split(".")[0]
    for bad in (f"{other}.{signature}", f"{payload}.{signature[:-2]}AA", "garbage", f"{payload}."):
        for method in (client.get, client.post):
            response = method("/digests/unsubscribe", params={"token": bad})
            assert response.status_code == 400, bad
            assert "token" in response.json()["detail"]
    forged = sign(b"another key", ws, "tm1")
    assert client.post("/digests/unsubscribe", params={"token": forged}).status_code == 400
    assert _enabled(db, ws, "tm1")


def test_the_mailed_link_unsubscribes(app_and_ws: tuple[TestClient, Db, int]) -> None:
    client, db, ws = app_and_ws
    from assistant.digest import DigestService, DigestSettings

    service = DigestService(db.engine, ws, db.workspace, DigestSettings.from_env())
    link = service.unsubscribe_link("tm1")
    assert link.startswith("http://pp.test/digests/unsubscribe?token=")
    assert client.post(link.removeprefix("http://pp.test")).status_code == 200
    assert not _enabled(db, ws, "tm1")


def test_preview_page(app_and_ws: tuple[TestClient, Db, int]) -> None:
    client, _, _ = app_and_ws
    page = client.get("/digests/preview", params={"to": "ann@co.example", "week": "2026-W10"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Your book, week 2026-W10" in page.text
    assert 'src="data:image/png;base64,' in page.text
    text = client.get(
        "/digests/preview", params={"to": "tm1", "week": "2026-W10", "format": "text"}
    )
    assert text.headers["content-type"].startswith("text/plain") and "- Visits: 4 (" in text.text
    assert client.get("/digests/preview", params={"to": "nobody"}).status_code == 404
    for kind in ("slack", "teams"):
        chat = client.get(
            "/digests/preview", params={"to": "tm1", "week": "2026-W10", "format": kind}
        )
        assert chat.status_code == 200 and chat.headers["content-type"] == "application/json"
        body = chat.json()
        assert ("blocks" in body) == (kind == "slack") and ("attachments" in body) == (
            kind == "teams"
        )
        assert "4 (" in json.dumps(body)  # 4 visits, as in the text part
    bad_week = client.get("/digests/preview", params={"to": "tm1", "week": "2026-W60"})
    assert bad_week.status_code == 422 and "no week 60" in bad_week.json()["detail"]


def test_scheduler_starts_with_the_app_when_enabled(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.digest.scheduler import JOB_ID

    monkeypatch.setenv("PORTALPULSE_DIGEST_SCHEDULER", "1")
    monkeypatch.setenv("PORTALPULSE_SMTP_PORT", "9")  # nothing listens: ticks must not crash
    started = []
    import assistant.digest.scheduler as scheduler_module

    real = scheduler_module.start_scheduler

    def spy(service, **kwargs):
        scheduler = real(service, **kwargs)
        started.append(scheduler)
        return scheduler

    monkeypatch.setattr(scheduler_module, "start_scheduler", spy)
    app = create_app(Config(database_url=db.url, workspace=db.workspace))
    with TestClient(app, client=LOCAL) as client:
        assert client.get("/health").status_code == 200
        (scheduler,) = started
        assert scheduler.running and scheduler.get_job(JOB_ID) is not None
    assert not scheduler.running


def test_subscriptions_api_with_a_webhook(app_and_ws: tuple[TestClient, Db, int]) -> None:
    client, db, ws = app_and_ws
    url = "https://acme.webhook.office.com/webhookb2/APISECRET"
    put = client.put(
        "/digests/subscriptions/Dee Partner",
        json={"email": False, "webhook": {"kind": "teams", "url": url}, "day": "fri"},
    )
    assert put.status_code == 200, put.text
    dee = put.json()
    assert (dee["member_id"], dee["day"], dee["email_delivery"]) == ("tm4", "fri", False)
    assert dee["webhook"] == {"kind": "teams", "url": "https://acme.webhook.office.com/…"}
    listed = client.get("/digests/subscriptions")
    assert listed.status_code == 200 and "APISECRET" not in listed.text
    assert [(s["member_id"], s["webhook"]) for s in listed.json()] == [
        ("tm1", None),
        ("tm4", dee["webhook"]),
    ]
    with db.engine.connect() as conn:  # stored as given, for delivery
        [stored] = [s for s in store.subscriptions(conn, ws) if s.member.member_id == "tm4"]
    assert (stored.webhook_kind, stored.webhook_url) == ("teams", url)
    # Left out: the webhook is kept; null removes it (then email must be on).
    kept = client.put("/digests/subscriptions/tm4", json={"hour": 9}).json()
    assert kept["webhook"] == dee["webhook"] and kept["hour"] == 9
    alone = client.put("/digests/subscriptions/tm4", json={"webhook": None})
    assert alone.status_code == 422
    assert "needs email delivery or a webhook" in alone.json()["detail"]
    gone = client.put("/digests/subscriptions/tm4", json={"webhook": None, "email": True})
    assert gone.status_code == 200 and gone.json()["webhook"] is None
    assert gone.json()["email_delivery"] is True


def test_subscriptions_api_rejects_bad_webhooks(app_and_ws: tuple[TestClient, Db, int]) -> None:
    client, _, _ = app_and_ws
    cases = [
        ({"kind": "slack", "url": "ftp://hooks.example/x"}, "url", "must start with http://"),
        ({"kind": "slack", "url": "https://"}, "url", "webhook URL has no host"),
        ({"kind": "discord", "url": "https://hooks.example/x"}, "kind", "'slack' or 'teams'"),
    ]
    for webhook, field, message in cases:
        response = client.put("/digests/subscriptions/tm1", json={"webhook": webhook})
        assert response.status_code == 422, webhook
        body = response.json()
        [error] = body["errors"]
        assert error["loc"] == ["body", "webhook", field] and message in error["msg"], error
        assert f"webhook.{field}" in body["detail"] and message in body["detail"], body
    unknown = client.put("/digests/subscriptions/nobody", json={})
    assert unknown.status_code == 422 and "no team member" in unknown.json()["detail"]
