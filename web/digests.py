"""Digest pages: the preview of a member's digest and the unsubscribe endpoint.

* ``GET /digests/preview?to=MEMBER[&week=2026-W47][&format=text|slack|teams]`` — the
  digest as it would be mailed (chart as a data URL), or the JSON a Slack / Teams webhook
  would get, for the request's workspace (``TenantDep``).
* ``GET /digests/unsubscribe?token=…`` — checks the signed token and asks to confirm
  (a GET must not unsubscribe: mail security scanners open every link);
* ``POST /digests/unsubscribe?token=…`` — unsubscribes; also the RFC 8058 one-click
  target of the ``List-Unsubscribe`` header. No API key: the signature is the
  credential and names the workspace. A bad or tampered token is a 400.
* ``GET /digests/subscriptions`` — the workspace's subscriptions (webhook URLs redacted);
* ``PUT /digests/subscriptions/{member}`` — create or update one: schedule, book, email
  on/off and a Slack / Teams webhook (``"webhook": null`` removes it; left out, it is
  kept). A bad URL or kind is a 422 naming ``webhook.url`` / ``webhook.kind``.

:func:`digest_lifespan` starts the weekly scheduler with the app when
``PORTALPULSE_DIGEST_SCHEDULER=1``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, field_validator

from metrics.db import write_transaction
from web.deps import Runtime, RuntimeDep, TenantDep

if TYPE_CHECKING:
    from assistant.digest.store import Subscription

router = APIRouter(prefix="/digests", tags=["digests"])
log = logging.getLogger(__name__)


def _service(rt: Runtime, workspace_id: int, workspace: str):  # -> DigestService
    from assistant.digest import DigestService, DigestSettings, DigestSettingsError
    from assistant.settings import Settings, SettingsError

    try:
        return DigestService(
            rt.engine, workspace_id, workspace, DigestSettings.from_env(), Settings.from_env()
        )
    except (DigestSettingsError, SettingsError) as exc:
        raise HTTPException(500, f"digest configuration: {exc}") from None


@router.get("/preview", response_class=HTMLResponse, response_model=None)
def preview(
    rt: RuntimeDep,
    tn: TenantDep,
    to: Annotated[str, Query(min_length=1, description="Team member id, email or name.")],
    week: Annotated[str | None, Query(description="ISO week, e.g. 2026-W47.")] = None,
    format: Annotated[
        Literal["html", "text", "slack", "teams"],
        Query(
            description="`html`: the page as mailed; `text`: its plain-text part; "
            "`slack` / `teams`: the JSON body posted to such a webhook."
        ),
    ] = "html",
) -> Response:
    """A member's digest as it would be mailed or posted; nothing is stored or sent."""
    from assistant.digest.store import SubscriptionError
    from assistant.digest.weeks import WeekError, parse_week

    try:
        chosen = parse_week(week) if week else None
        page, text, prepared = _service(rt, tn.id, tn.name).preview(to, chosen)
    except WeekError as exc:
        raise HTTPException(422, str(exc)) from None
    except SubscriptionError as exc:
        raise HTTPException(404, str(exc)) from None
    if format in ("slack", "teams"):
        from assistant.digest.chat import payload

        return JSONResponse(payload(format, prepared.content, prepared.summary))
    return PlainTextResponse(text) if format == "text" else HTMLResponse(page)


def _checked(rt: Runtime, token: str):  # -> UnsubscribeToken
    from assistant.digest import DigestSettings
    from assistant.digest.tokens import TokenError, signing_key, verify

    try:
        return verify(signing_key(rt.engine, DigestSettings.from_env().secret), token)
    except TokenError as exc:
        raise HTTPException(400, str(exc)) from None


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        "<body style='font-family:Arial,Helvetica,sans-serif;max-width:560px;margin:40px auto;"
        f"color:#0f172a'><h1 style='font-size:20px'>{html.escape(title)}</h1>{body}</body></html>"
    )


TokenQuery = Annotated[str, Query(min_length=1, max_length=512, description="Signed token.")]


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_form(rt: RuntimeDep, token: TokenQuery) -> HTMLResponse:
    """Confirm before unsubscribing (the token is checked now)."""
    _checked(rt, token)
    action = f"/digests/unsubscribe?token={html.escape(token, quote=True)}"
    return _page(
        "Unsubscribe from the weekly digest?",
        f"<form method='post' action='{action}'><button type='submit' "
        "style='padding:8px 16px'>Unsubscribe</button></form>",
    )


@router.post("/unsubscribe", response_class=HTMLResponse)
def unsubscribe(rt: RuntimeDep, token: TokenQuery) -> HTMLResponse:
    """Turn the token's subscription off (idempotent)."""
    from assistant.digest import store

    who = _checked(rt, token)
    with write_transaction(rt.engine) as conn:
        store.unsubscribe(conn, who.workspace_id, who.member_id)
    return _page(
        "You are unsubscribed",
        "<p>You will not get the PortalPulse weekly digest any more. "
        "To subscribe again, ask your PortalPulse administrator.</p>",
    )


class WebhookIn(BaseModel):
    """A Slack or Teams incoming webhook to post the digest to."""

    kind: Literal["slack", "teams"]
    url: str = Field(description="The incoming-webhook URL (http:// or https://); a secret.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        from assistant.digest.webhook import WebhookUrlError, check_url

        try:
            return check_url(value)
        except WebhookUrlError as exc:
            raise ValueError(str(exc)) from None


class WebhookOut(BaseModel):
    kind: str
    url: str = Field(description="Redacted: scheme and host only.")


class SubscriptionIn(BaseModel):
    """A subscription to create or update (the member comes from the path)."""

    team: list[str] = Field(default_factory=list, description="A manager's team: member ids.")
    day: str = Field("mon", description="Day of the week (mon … sun).")
    hour: int = Field(8, description="Local hour (0-23).")
    timezone: str = Field("UTC", description="IANA time zone.")
    email: bool | None = Field(
        None, description="Mail the digest (default: on when new, unchanged otherwise)."
    )
    webhook: WebhookIn | None = Field(
        None, description="Post to a Slack / Teams webhook; null removes it, absent keeps it."
    )


class SubscriptionOut(BaseModel):
    member_id: str
    name: str
    email: str | None
    enabled: bool
    day: str
    hour: int
    timezone: str
    team: list[str]
    email_delivery: bool
    webhook: WebhookOut | None


def _out(sub: Subscription) -> SubscriptionOut:
    from assistant.digest.webhook import redact

    hook = None
    if sub.webhook_kind and sub.webhook_url:
        hook = WebhookOut(kind=sub.webhook_kind, url=redact(sub.webhook_url))
    return SubscriptionOut(
        member_id=sub.member.member_id,
        name=sub.member.name,
        email=sub.member.email,
        enabled=sub.enabled,
        day=sub.day,
        hour=sub.hour,
        timezone=sub.timezone,
        team=list(sub.team),
        email_delivery=sub.email_delivery,
        webhook=hook,
    )


@router.get("/subscriptions")
def list_subscriptions(rt: RuntimeDep, tn: TenantDep) -> list[SubscriptionOut]:
    """The workspace's digest subscriptions, by member id (webhook URLs redacted)."""
    from assistant.digest import store

    with rt.engine.connect() as conn:
        return [_out(s) for s in store.subscriptions(conn, tn.id)]


@router.put("/subscriptions/{member}")
def put_subscription(
    rt: RuntimeDep,
    tn: TenantDep,
    member: Annotated[str, Path(description="Team member id, email or name.")],
    body: SubscriptionIn,
) -> SubscriptionOut:
    """Create or update (and enable) a member's digest subscription."""
    from assistant.digest import store
    from assistant.digest.weeks import WeekError

    webhook = (body.webhook.kind, body.webhook.url) if body.webhook else None
    try:
        with write_transaction(rt.engine) as conn:
            sub = store.subscribe(
                conn,
                tn.id,
                member,
                team=body.team,
                day=body.day,
                hour=body.hour,
                timezone=body.timezone,
                email=body.email,
                webhook=webhook,
                remove_webhook="webhook" in body.model_fields_set and body.webhook is None,
            )
    except (store.SubscriptionError, WeekError) as exc:
        raise HTTPException(422, str(exc)) from None
    return _out(sub)


@asynccontextmanager
async def digest_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the weekly digest scheduler for the app's workspace when it is enabled."""
    from assistant.digest import DigestSettings, start_scheduler

    scheduler = None
    if DigestSettings.from_env().scheduler:
        rt: Runtime = app.state.runtime
        scheduler = start_scheduler(_service(rt, rt.workspace_id, rt.workspace))
        log.info("digest scheduler started for workspace %s", rt.workspace)
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
