"""Slack / Teams incoming webhooks: checking and redacting the URL, and posting JSON.

A webhook URL is a secret (whoever has it can post to the channel): it is stored
as given but only ever shown as :func:`redact` makes it (scheme, host and ``/…``).

Failures are sorted the way :mod:`assistant.digest.delivery` sorts SMTP's:

* 2xx: delivered;
* connection refused, DNS failure, connect timeout, 5xx and 429 (rate limited):
  *transient*, nothing was accepted, retry with backoff;
* other 4xx (and 3xx: a webhook does not redirect): *permanent*, with the status
  and an excerpt of the body (Slack answers ``invalid_payload``, ``no_service`` …);
* the request went out and then the connection broke or no response came within
  the timeout: *in doubt*, the receiver may have posted the message, so it is never
  resent automatically.
"""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any, Literal
from urllib.parse import urlsplit

from assistant.digest.delivery import DeliveryError

WebhookKind = Literal["slack", "teams"]
WEBHOOK_KINDS: tuple[str, ...] = ("slack", "teams")
BODY_EXCERPT = 300
MAX_URL = 2000


class WebhookUrlError(ValueError):
    """A webhook kind or URL that cannot be used; the message says what is wrong."""


def redact(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme and host only (the path holds the secret)."""
    parts = urlsplit(url.strip())
    host = parts.netloc.rsplit("@", 1)[-1] or "?"  # no user:password
    return f"{parts.scheme or '?'}://{host}/…"


def check_webhook(kind: str, url: str) -> tuple[WebhookKind, str]:
    """The kind (``slack`` or ``teams``) and the URL, checked; raises :class:`WebhookUrlError`."""
    wanted = kind.strip().lower()
    if wanted not in WEBHOOK_KINDS:
        raise WebhookUrlError(
            f"webhook kind must be one of {', '.join(WEBHOOK_KINDS)}, got {kind!r}"
        )
    return wanted, check_url(url)  # type: ignore[return-value]


def check_url(url: str) -> str:
    """An incoming-webhook URL, stripped: ``http(s)://host[:port]/…`` in ASCII (other
    characters percent-encoded); raises :class:`WebhookUrlError` (never echoing the path)."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        shown = f"{parts.scheme}:…" if parts.scheme else "a URL without a scheme"
        raise WebhookUrlError(f"webhook URL must start with http:// or https://, got {shown}")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise WebhookUrlError(f"webhook URL has an invalid port: {redact(text)}") from None
    if not parts.hostname:
        raise WebhookUrlError(f"webhook URL has no host: {parts.scheme}://…")
    if any(ch.isspace() for ch in text):
        raise WebhookUrlError(f"webhook URL must not contain spaces: {redact(text)}")
    if not text.isascii():
        raise WebhookUrlError(
            f"webhook URL must be ASCII (percent-encode other characters): {redact(text)}"
        )
    if len(text) > MAX_URL:
        raise WebhookUrlError(f"webhook URL is longer than {MAX_URL} characters")
    return text


def scrub(text: str, url: str) -> str:
    """``text`` (e.g. an error page that echoes the request) without the URL's secret part."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    for secret in (url, target, parts.path, parts.query):
        if len(secret) > 1:
            text = text.replace(secret, "/…")
    return text


class WebhookPoster:
    """Posts JSON to webhook URLs with a timeout; raises :class:`DeliveryError`."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def post(self, url: str, payload: dict[str, Any]) -> None:
        parts = urlsplit(url)
        where = redact(url)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        if not target.isascii() or any(ord(ch) <= 32 or ord(ch) == 127 for ch in target):
            # Checked when subscribing; http.client would refuse it (nothing is sent).
            raise DeliveryError(f"webhook {where}: the URL is not valid", transient=False)
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=self.timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=self.timeout_s
            )
        try:
            try:
                conn.connect()
            except OSError as exc:  # refused, unreachable, DNS, connect timeout, TLS
                raise DeliveryError(
                    f"webhook {where}: could not connect ({type(exc).__name__}: {exc})",
                    transient=True,
                ) from exc
            try:
                conn.request(
                    "POST",
                    target,
                    body=body,
                    headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "User-Agent": "PortalPulse-digest",
                    },
                )
                response = conn.getresponse()
                status = response.status
                excerpt = response.read(BODY_EXCERPT).decode("utf-8", "replace").strip()
            except (OSError, http.client.HTTPException) as exc:
                raise DeliveryError(
                    f"in doubt: no response from webhook {where} after the request was sent "
                    f"({type(exc).__name__}: {exc}); the channel may have the message",
                    transient=False,
                    in_doubt=True,
                ) from exc
        finally:
            conn.close()
        if 200 <= status < 300:
            return
        excerpt = scrub(excerpt, url)
        detail = f"webhook {where}: HTTP {status}" + (f" {excerpt}" if excerpt else "")
        raise DeliveryError(detail, transient=status >= 500 or status == 429)

    def close(self) -> None:
        """Nothing held between posts (one connection per post)."""
