"""Signed unsubscribe tokens: HMAC-SHA256 over (purpose, workspace, member).

The key is ``PORTALPULSE_SECRET`` when set; otherwise one is generated once and
kept in the database (``app_secrets``), so links in mails already sent stay
valid across restarts and between the CLI that sends and the server that
receives the click. A token names its workspace because the person clicking it
has no API key: the signature is the credential.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from metrics.app_models import AppSecret
from metrics.db import write_transaction

SECRET_NAME = "digest_signing_key"
_PURPOSE = b"portalpulse-unsubscribe-v1"


class TokenError(ValueError):
    """A token that is malformed or whose signature does not match."""


@dataclass(frozen=True)
class UnsubscribeToken:
    workspace_id: int
    member_id: str


def signing_key(engine: Engine, configured: str | None = None) -> bytes:
    """The configured secret, else the one stored in the database (generated once)."""
    if configured:
        return configured.encode()
    with engine.connect() as conn:
        stored = conn.scalar(select(AppSecret.value).where(AppSecret.name == SECRET_NAME))
    if stored:
        return stored.encode()
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(AppSecret).values(
                    name=SECRET_NAME, value=secrets.token_urlsafe(32), created_at=datetime.now(UTC)
                )
            )
    except IntegrityError:
        pass  # another process generated it first: use theirs
    with engine.connect() as conn:
        return conn.scalar(select(AppSecret.value).where(AppSecret.name == SECRET_NAME)).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _PURPOSE + b"\0" + payload, hashlib.sha256).digest()


def sign(key: bytes, workspace_id: int, member_id: str) -> str:
    """``<payload>.<signature>``, both base64url: safe in a URL without quoting."""
    payload = f"{workspace_id}:{member_id}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(key: bytes, token: str) -> UnsubscribeToken:
    """The token's workspace and member; :class:`TokenError` if it was not signed with ``key``."""
    try:
        payload_text, signature_text = token.strip().split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, binascii.Error):
        raise TokenError("malformed unsubscribe token") from None
    if not hmac.compare_digest(signature, _mac(key, payload)):
        raise TokenError("invalid unsubscribe token (bad signature)")
    workspace, _, member = payload.decode("utf-8", "replace").partition(":")
    if not workspace.isdigit() or not member:
        raise TokenError("malformed unsubscribe token")
    return UnsubscribeToken(int(workspace), member)
