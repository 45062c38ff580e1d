"""SMTP delivery: one connection reused across a run, failures sorted into transient
(retry with backoff) and permanent (give up now).

Transient: connection problems, timeouts, disconnects and 4xx replies (greylisting,
"mailbox busy", rate limits). Permanent: 5xx replies (unknown user, rejected
content, bad credentials). After any failure the connection is dropped and the
next attempt reconnects, so one bad exchange cannot poison the rest of the run.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from assistant.digest.settings import DigestSettings


class DeliveryError(Exception):
    """An SMTP failure, with whether trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class SmtpMailer:
    """Sends messages with the configured server, TLS mode and login."""

    def __init__(self, settings: DigestSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.port, timeout=s.smtp_timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.port, timeout=s.smtp_timeout_s)
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` to its To address; raises :class:`DeliveryError`."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(
                f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()
            )
            raise DeliveryError(
                f"recipient refused: {detail}", transient=all(400 <= c < 500 for c in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(
                f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}",
                transient=400 <= exc.smtp_code < 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(
                f"SMTP connection to {self.settings.smtp_host}:{self.settings.port} failed: "
                f"{type(exc).__name__}: {exc}",
                transient=True,
            ) from exc

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
