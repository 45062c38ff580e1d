"""SMTP delivery: one connection reused across a run, failures sorted into transient
(retry with backoff), permanent (give up now) and *in doubt* (never retry on our own).

Transient: connection problems, timeouts, disconnects and 4xx replies (greylisting,
"mailbox busy", rate limits) — as long as the message itself was not yet handed
over. Permanent: 5xx replies (unknown user, rejected content, bad credentials).
In doubt: the DATA command went out and then the connection broke or the reply
did not come in time: the server may have accepted the message, so sending it
again could deliver a second copy. Only a reply (any code) after DATA says for
sure what happened. After any failure the connection is dropped and the next
attempt reconnects, so one bad exchange cannot poison the rest of the run.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from assistant.digest.settings import DigestSettings


class DeliveryError(Exception):
    """An SMTP failure, with whether trying again later may succeed and whether the
    server may have accepted the message anyway (``in_doubt``: never resend)."""

    def __init__(self, message: str, *, transient: bool, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.transient = transient and not in_doubt
        self.in_doubt = in_doubt


class _DataTracking:
    """Mixin for :class:`smtplib.SMTP`: remembers that the DATA command was issued."""

    data_started = False

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)  # type: ignore[misc]


class _SMTP(_DataTracking, smtplib.SMTP):
    pass


class _SMTP_SSL(_DataTracking, smtplib.SMTP_SSL):
    pass


class SmtpMailer:
    """Sends messages with the configured server, TLS mode and login."""

    def __init__(self, settings: DigestSettings) -> None:
        self.settings = settings
        self._smtp: _SMTP | _SMTP_SSL | None = None

    def _connect(self) -> _SMTP | _SMTP_SSL:
        s = self.settings
        if s.smtp_tls == "ssl":
            smtp: _SMTP | _SMTP_SSL = _SMTP_SSL(
                s.smtp_host, s.port, timeout=s.smtp_timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = _SMTP(s.smtp_host, s.port, timeout=s.smtp_timeout_s)
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` to its To address; raises :class:`DeliveryError`."""
        smtp = None
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            smtp = self._smtp
            smtp.data_started = False
            smtp.send_message(message)
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
            if smtp is not None and smtp.data_started:
                # No QUIT: its reply could be the late answer to DATA. Just hang up.
                smtp.close()
                self._smtp = None
                raise DeliveryError(
                    f"in doubt: no reply from {self.settings.smtp_host}:{self.settings.port} "
                    f"after DATA ({type(exc).__name__}: {exc}); the server may have accepted "
                    f"{message['Message-ID']}",
                    transient=False,
                    in_doubt=True,
                ) from exc
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
