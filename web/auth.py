"""API keys and the server's auth mode.

A key opens exactly one workspace. It looks like ``pp_1a2b3c4d_<secret>``: the
``pp_1a2b3c4d`` prefix is not secret — it finds the key's row and tells keys
apart in ``portalpulse keys list`` — and the whole key is stored only as a
SHA-256 hash, compared in constant time. Keys carry 256 random bits, so a fast
unsalted hash is enough: there is nothing to guess from it.

Two modes:

* **keys** — every ``/api`` request needs a valid key; its workspace is the
  request's tenant.
* **open** — the embedded demo: requests without a key go to the server's
  default workspace. It exists only when the server is bound to a loopback
  host, and even then a keyless request from a non-loopback client (or one a
  proxy forwarded: any proxy header, see :func:`is_forwarded`) is refused. A
  valid key still selects its own workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection, insert, select, update

from metrics.app_models import ApiKey
from metrics.db import workspace_id as resolve_workspace
from metrics.models import Workspace

KEY_PREFIX = "pp_"
PREFIX_HEX = 8
SECRET_BYTES = 32
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

AuthMode = Literal["open", "keys"]


class KeyNotFound(LookupError):
    """No key with that prefix (``keys revoke``)."""


class InvalidKey(Exception):
    """A presented key opens nothing; the message says why (unknown, malformed, revoked)."""


@dataclass(frozen=True)
class KeyInfo:
    """What ``keys list`` shows: never the secret."""

    prefix: str
    workspace: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class KeyOwner:
    """The workspace a presented key opens."""

    workspace_id: int
    workspace: str
    prefix: str


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and the usual names of localhost."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


PROXY_HEADERS = frozenset(
    {
        "forwarded",
        "via",
        "x-real-ip",
        "x-client-ip",
        "client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-proxyuser-ip",
    }
)
PROXY_PREFIXES = ("x-forwarded-", "x-original-forwarded-", "x-envoy-")
"""Headers a proxy adds; any one of them, even empty, means the request was forwarded."""


def is_forwarded(header_names: Iterable[str]) -> bool:
    """True when any header names a proxy hop: ``Forwarded``, ``Via``, ``X-Real-IP``,
    any ``X-Forwarded-*`` (``-For``, ``-Host``, ``-Proto``, …) and their kin.

    A keyless request in open mode must come from a local client directly; behind
    a proxy every request arrives from loopback, so the proxy's mark is all there is.
    """
    for name in header_names:
        lowered = name.lower()
        if lowered in PROXY_HEADERS or lowered.startswith(PROXY_PREFIXES):
            return True
    return False


def auth_mode(host: str, require_keys: bool) -> AuthMode:
    """Open only on a loopback bind and when keys were not asked for."""
    return "open" if is_loopback(host) and not require_keys else "keys"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def workspace_exists(conn: Connection, workspace: str) -> bool:
    return conn.scalar(select(Workspace.id).where(Workspace.slug == workspace)) is not None


def create_key(conn: Connection, workspace: str, name: str = "") -> tuple[str, KeyInfo]:
    """A new key for ``workspace`` (created if new): the plain key, shown once, and its info."""
    ws = resolve_workspace(conn, workspace)
    prefix = f"{KEY_PREFIX}{secrets.token_hex(PREFIX_HEX // 2)}"
    while conn.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = f"{KEY_PREFIX}{secrets.token_hex(PREFIX_HEX // 2)}"
    key = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    now = datetime.now(UTC)
    label = name or f"key created {now:%Y-%m-%d %H:%M} UTC"
    conn.execute(
        insert(ApiKey).values(
            workspace_id=ws, prefix=prefix, secret_hash=_hash(key), name=label, created_at=now
        )
    )
    return key, KeyInfo(prefix, workspace, label, now, None)


def list_keys(conn: Connection, workspace: str | None = None) -> list[KeyInfo]:
    """Keys, newest first; of one workspace when ``workspace`` is given."""
    query = (
        select(ApiKey.prefix, Workspace.slug, ApiKey.name, ApiKey.created_at, ApiKey.revoked_at)
        .join(Workspace, Workspace.id == ApiKey.workspace_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    if workspace is not None:
        query = query.where(Workspace.slug == workspace)
    return [KeyInfo(*row) for row in conn.execute(query)]


def revoke_key(conn: Connection, prefix: str) -> KeyInfo:
    """Revoke the key with this prefix (a whole key is accepted too); idempotent."""
    prefix = _prefix_of(prefix) or prefix
    found = conn.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
    if found is None:
        raise KeyNotFound(f"no key with prefix {prefix!r} (see `portalpulse keys list`)")
    conn.execute(
        update(ApiKey)
        .where(ApiKey.id == found, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return next(k for k in list_keys(conn) if k.prefix == prefix)


def _prefix_of(key: str) -> str | None:
    head, sep, _secret = key.partition("_")
    if head + "_" != KEY_PREFIX or not sep:
        return None
    body, sep, _secret = _secret.partition("_")
    if not sep or len(body) != PREFIX_HEX:
        return None
    return KEY_PREFIX + body


def verify_key(conn: Connection, key: str) -> KeyOwner:
    """The workspace ``key`` opens; raises :class:`InvalidKey` saying why not."""
    key = key.strip()
    prefix = _prefix_of(key)
    if prefix is None:
        raise InvalidKey(
            f"malformed API key: expected {KEY_PREFIX}<8 hex>_<secret> "
            "as printed by `portalpulse keys create`"
        )
    row = conn.execute(
        select(ApiKey.secret_hash, ApiKey.revoked_at, ApiKey.workspace_id, Workspace.slug)
        .join(Workspace, Workspace.id == ApiKey.workspace_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(key)):
        raise InvalidKey(f"unknown API key {prefix}…: check the key or create one")
    if row.revoked_at is not None:
        raise InvalidKey(f"API key {prefix}… was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    return KeyOwner(row.workspace_id, row.slug, prefix)
