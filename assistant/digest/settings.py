"""Digest settings, read from the environment (the style of :mod:`assistant.settings`).

Validated once; a bad value raises :class:`DigestSettingsError` naming the variable.

=================================  ===================================================
``PORTALPULSE_SMTP_HOST``          SMTP server, default ``localhost``
``PORTALPULSE_SMTP_PORT``          default 25 (587 for ``starttls``, 465 for ``ssl``)
``PORTALPULSE_SMTP_TLS``           ``none`` (default), ``starttls`` or ``ssl``
``PORTALPULSE_SMTP_USER``          login user (no login when unset)
``PORTALPULSE_SMTP_PASSWORD``      login password
``PORTALPULSE_SMTP_FROM``          sender, default ``PortalPulse <digest@localhost>``
``PORTALPULSE_SMTP_TIMEOUT_S``     socket timeout, default 30
``PORTALPULSE_SMTP_MAX_ATTEMPTS``  attempts per recipient and channel (transient failures,
                                   webhooks too), default 3
``PORTALPULSE_SMTP_BACKOFF_S``     first retry delay, doubled each retry, default 2
``PORTALPULSE_WEBHOOK_TIMEOUT_S``  Slack / Teams webhook timeout (connect, response),
                                   default 10
``PORTALPULSE_BASE_URL``           where the web app is, for links; default
                                   ``http://127.0.0.1:8000``
``PORTALPULSE_SECRET``             key of the unsubscribe-link signatures; when unset a
                                   generated key is kept in the database
``PORTALPULSE_DIGEST_SCHEDULER``   ``1`` starts the weekly scheduler in ``serve``
``PORTALPULSE_DIGEST_WORKERS``     threads that build digests in a run, default 2
=================================  ===================================================
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any, Literal

from assistant.settings import env_number

TlsMode = Literal["none", "starttls", "ssl"]
TLS_MODES: tuple[str, ...] = ("none", "starttls", "ssl")
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class DigestSettingsError(ValueError):
    """A digest setting has an invalid value; the message names the environment variable."""


@dataclass(frozen=True)
class DigestSettings:
    """SMTP, links, signing and retry settings of the digests (immutable)."""

    smtp_host: str = "localhost"
    smtp_port: int | None = None
    """None: the usual port of ``smtp_tls``."""
    smtp_tls: TlsMode = "none"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    sender: str = "PortalPulse <digest@localhost>"
    smtp_timeout_s: float = 30.0
    max_attempts: int = 3
    backoff_s: float = 2.0
    base_url: str = "http://127.0.0.1:8000"
    secret: str | None = field(default=None, repr=False)
    scheduler: bool = False
    workers: int = 2
    """Threads building digests in parallel (SQL reads, summaries); sending stays serial."""
    webhook_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.smtp_tls not in TLS_MODES:
            _fail("PORTALPULSE_SMTP_TLS", f"must be one of {', '.join(TLS_MODES)}", self.smtp_tls)
        if self.smtp_port is not None and not 0 < self.smtp_port < 65536:
            _fail("PORTALPULSE_SMTP_PORT", "must be a port number (1-65535)", self.smtp_port)
        if not self.smtp_host.strip():
            _fail("PORTALPULSE_SMTP_HOST", "must not be empty", self.smtp_host)
        if "@" not in parseaddr(self.sender)[1]:
            _fail("PORTALPULSE_SMTP_FROM", "must be an email address", self.sender)
        if self.smtp_password and not self.smtp_user:
            _fail("PORTALPULSE_SMTP_USER", "must be set with PORTALPULSE_SMTP_PASSWORD", None)
        if not self.smtp_timeout_s > 0:
            _fail("PORTALPULSE_SMTP_TIMEOUT_S", "must be a positive number", self.smtp_timeout_s)
        if not self.webhook_timeout_s > 0:
            _fail(
                "PORTALPULSE_WEBHOOK_TIMEOUT_S", "must be a positive number", self.webhook_timeout_s
            )
        if self.max_attempts < 1:
            _fail("PORTALPULSE_SMTP_MAX_ATTEMPTS", "must be a whole number >= 1", self.max_attempts)
        if self.backoff_s < 0:
            _fail("PORTALPULSE_SMTP_BACKOFF_S", "must be a number >= 0", self.backoff_s)
        if not 1 <= self.workers <= 32:
            _fail("PORTALPULSE_DIGEST_WORKERS", "must be a whole number from 1 to 32", self.workers)
        if not self.base_url.startswith(("http://", "https://")):
            _fail("PORTALPULSE_BASE_URL", "must be an http:// or https:// URL", self.base_url)
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def port(self) -> int:
        """The SMTP port: the given one, else the usual one for the TLS mode."""
        return self.smtp_port or _DEFAULT_PORTS[self.smtp_tls]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> DigestSettings:
        """Settings from ``environ`` (default ``os.environ``), then ``overrides``."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        values: dict[str, Any] = {
            "smtp_host": get("PORTALPULSE_SMTP_HOST") or cls.smtp_host,
            "smtp_port": _number(get, "PORTALPULSE_SMTP_PORT", None, int),
            "smtp_tls": (get("PORTALPULSE_SMTP_TLS") or cls.smtp_tls).lower(),
            "smtp_user": get("PORTALPULSE_SMTP_USER"),
            "smtp_password": env.get("PORTALPULSE_SMTP_PASSWORD") or None,
            "sender": get("PORTALPULSE_SMTP_FROM") or cls.sender,
            "smtp_timeout_s": _number(get, "PORTALPULSE_SMTP_TIMEOUT_S", cls.smtp_timeout_s, float),
            "max_attempts": _number(get, "PORTALPULSE_SMTP_MAX_ATTEMPTS", cls.max_attempts, int),
            "backoff_s": _number(get, "PORTALPULSE_SMTP_BACKOFF_S", cls.backoff_s, float),
            "base_url": get("PORTALPULSE_BASE_URL") or cls.base_url,
            "secret": get("PORTALPULSE_SECRET"),
            "scheduler": _flag(get, "PORTALPULSE_DIGEST_SCHEDULER"),
            "workers": _number(get, "PORTALPULSE_DIGEST_WORKERS", cls.workers, int),
            "webhook_timeout_s": _number(
                get, "PORTALPULSE_WEBHOOK_TIMEOUT_S", cls.webhook_timeout_s, float
            ),
        }
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> DigestSettings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def _number(get: Any, name: str, default: Any, kind: type) -> Any:
    return env_number(get, name, default, kind, DigestSettingsError)


def _flag(get: Any, name: str) -> bool:
    raw = (get(name) or "0").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise DigestSettingsError(f"{name} must be 1 or 0, got {raw!r}")


def _fail(variable: str, rule: str, value: object) -> None:
    raise DigestSettingsError(f"{variable} {rule}, got {value!r}")
