"""One digest run: for each subscription, claim → build → summarize → render → send.

A subscription's channels (email, a Slack / Teams webhook) are claimed and delivered
one by one, each with its own ledger row; the digest is built once for all of them.

Each recipient is handled on its own: an error while building or sending one
digest is recorded in its ledger row and reported, and the run goes on with the
next. See :mod:`assistant.digest.store` for the exactly-once protocol.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any, Protocol

from sqlalchemy import Engine

from assistant.digest import store
from assistant.digest.chart import trend_png
from assistant.digest.chat import payload
from assistant.digest.content import DigestContent, WeekData, build_content
from assistant.digest.delivery import DeliveryError, SmtpMailer
from assistant.digest.render import build_message, data_url, render_parts
from assistant.digest.settings import DigestSettings
from assistant.digest.store import Subscription
from assistant.digest.summary import Summary, summarize, templated
from assistant.digest.tokens import sign, signing_key
from assistant.digest.webhook import WebhookPoster
from assistant.digest.weeks import IsoWeek, due_week, last_complete_week
from assistant.settings import Settings

log = logging.getLogger(__name__)
_CHART_LOCK = threading.Lock()


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class Poster(Protocol):
    def post(self, url: str, payload: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def webhook_poster(settings: DigestSettings) -> Poster:
    return WebhookPoster(settings.webhook_timeout_s)


@dataclass(frozen=True)
class Outcome:
    member_id: str
    email: str
    week: str
    status: str
    """``sent``, ``skipped`` (already sent / in progress), ``in_doubt`` or ``failed``."""
    attempts: int = 0
    error: str | None = None
    message_id: str | None = None
    summary_source: str | None = None
    channel: str = store.EMAIL
    """``email`` (``email`` is the address) or ``webhook`` (its kind and redacted URL)."""


@dataclass
class RunReport:
    week: str | None
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return not any(o.status in ("failed", "in_doubt") for o in self.outcomes)

    def line(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("sent", "skipped", "in_doubt", "failed")]
        return f"digests {self.week or '(due weeks)'}: " + ", ".join(parts)


@dataclass
class Built:
    """A digest ready to deliver: the email, the webhook body (each when its channel was
    claimed) and where the summary came from."""

    message: EmailMessage | None
    body: dict[str, Any] | None
    source: str
    body_error: str | None = None
    """Why the webhook body could not be rendered (the email still goes)."""


Job = Future[Built]
"""A digest being built."""
Slot = tuple[tuple[int, int], dict[str, Any], store.Claim]
"""A claimed channel of a target: (target index, channel index), outcome base, claim."""


@dataclass
class Prepared:
    content: DigestContent
    summary: Summary
    png: bytes


class DigestService:
    """Builds, previews and sends the digests of one workspace."""

    def __init__(
        self,
        engine: Engine,
        workspace_id: int,
        workspace: str,
        settings: DigestSettings | None = None,
        llm: Settings | None = None,
        *,
        mailer_factory: Callable[[DigestSettings], Mailer] = SmtpMailer,
        poster_factory: Callable[[DigestSettings], Poster] = webhook_poster,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.workspace_id = workspace_id
        self.workspace = workspace
        self.settings = settings or DigestSettings.from_env()
        self.llm = llm
        self.mailer_factory = mailer_factory
        self.poster_factory = poster_factory
        self.sleep = sleep
        self._key: bytes | None = None
        self._model: Any = None

    # -- building ---------------------------------------------------------------------

    def unsubscribe_link(self, member_id: str) -> str:
        if self._key is None:
            self._key = signing_key(self.engine, self.settings.secret)
        token = sign(self._key, self.workspace_id, member_id)
        return f"{self.settings.base_url}/digests/unsubscribe?token={token}"

    def prepare(
        self, subscription: Subscription, week: IsoWeek, shared: WeekData | None = None
    ) -> Prepared:
        """Content, summary and chart of one digest (read-only)."""
        with self.engine.connect() as conn:
            content = build_content(
                conn,
                self.workspace_id,
                self.workspace,
                subscription,
                week,
                base_url=self.settings.base_url,
                shared=shared,
            )
        content.unsubscribe_link = self.unsubscribe_link(subscription.member.member_id)
        with _CHART_LOCK:  # matplotlib's font caches are not thread-safe
            png = trend_png(content.trend)
        return Prepared(content, self._summarize(content), png)

    def _summarize(self, content: DigestContent) -> Summary:
        """The summary; the chat model is built once per service, not once per recipient."""
        if self.llm is None or self.llm.provider == "offline":
            return summarize(content, None)
        if self._model is None:
            try:
                from assistant.providers import openai_chat_model

                self._model = openai_chat_model(self.llm)
            except Exception as exc:  # a bad model setup must not stop the digests
                return Summary(templated(content), "template", True, f"model unavailable: {exc}")
        return summarize(content, self.llm, model=self._model)

    def subscription_for(self, member: str) -> Subscription:
        """The member's subscription, or a default own-book one for previews."""
        with self.engine.connect() as conn:
            found = store.find_member(conn, self.workspace_id, member)
            for sub in store.subscriptions(conn, self.workspace_id):
                if sub.member.member_id == found.member_id:
                    return sub
        return Subscription(found, False, "mon", 8, "UTC", ())

    def preview(self, member: str, week: IsoWeek | None = None) -> tuple[str, str, Prepared]:
        """(html with the chart as a data URL, text, parts) — nothing stored or sent."""
        prepared = self.prepare(self.subscription_for(member), week or last_complete_week())
        html, text = render_parts(
            prepared.content, prepared.summary, image_src=data_url(prepared.png)
        )
        return html, text, prepared

    # -- sending ----------------------------------------------------------------------

    def targets(
        self,
        *,
        to: str | None = None,
        week: IsoWeek | None = None,
        due_at: datetime | None = None,
    ) -> list[tuple[Subscription, IsoWeek]]:
        """Enabled subscriptions (only ``to``'s when given) with the week each should get.

        ``due_at``: only those whose local day and hour have come (the scheduler, or
        cron with ``--due``); otherwise ``week`` or the last complete week for all.
        """
        with self.engine.connect() as conn:
            subs = store.subscriptions(conn, self.workspace_id, enabled_only=True)
            if to is not None:
                member = store.find_member(conn, self.workspace_id, to)
                subs = [s for s in subs if s.member.member_id == member.member_id]
                if not subs:
                    raise store.SubscriptionError(
                        f"{member.member_id} ({member.name}) has no enabled digest subscription"
                    )
        if due_at is not None:
            pairs = [(s, due_week(s.day, s.hour, s.timezone, due_at)) for s in subs]
            return [(s, w) for s, w in pairs if w is not None]
        chosen = week or last_complete_week()
        return [(s, chosen) for s in subs]

    def send(
        self,
        *,
        to: str | None = None,
        week: IsoWeek | None = None,
        due_at: datetime | None = None,
    ) -> RunReport:
        """Send every target's digest at most once; one failure never stops the others."""
        targets = self.targets(to=to, week=week, due_at=due_at)
        return self.send_targets(targets, label=week.label if week else None)

    def send_targets(
        self, targets: Sequence[tuple[Subscription, IsoWeek]], label: str | None = None
    ) -> RunReport:
        """Claim in order, build in ``settings.workers`` threads, deliver in order.

        Claims, attempt counts and SMTP stay on this thread, so the ledger protocol is
        the same as a sequential run; only building (SQL reads, the summary) runs in
        parallel. At most ``2 × workers`` digests are claimed and not yet delivered.
        """
        report = RunReport(label or (targets[0][1].label if targets else None))
        shared = WeekData()
        workers = self.settings.workers
        mailer = self.mailer_factory(self.settings)
        poster = self.poster_factory(self.settings)
        results: dict[tuple[int, int], Outcome] = {}
        pending: deque[tuple[Subscription, list[Slot], Job]] = deque()

        def finish() -> None:
            subscription, slots, job = pending.popleft()
            for slot, outcome in self._finish(mailer, poster, subscription, slots, job):
                results[slot] = outcome

        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="digest") as pool:
                for index, (subscription, week) in enumerate(targets):
                    slots: list[Slot] = []
                    for number, channel in enumerate(subscription.channels):
                        claimed = self._claim(subscription, week, channel)
                        if isinstance(claimed, Outcome):
                            results[(index, number)] = claimed
                        else:
                            slots.append(((index, number), *claimed))
                    if not slots:
                        continue
                    channels = {base["channel"]: claim for _, base, claim in slots}
                    job = pool.submit(self._build, subscription, week, channels, shared)
                    pending.append((subscription, slots, job))
                    while len(pending) >= 2 * workers:
                        finish()
                while pending:
                    finish()
        finally:
            mailer.close()
            poster.close()
        report.outcomes = [results[i] for i in sorted(results)]
        log.info(report.line())
        return report

    def _message_id(self, member_id: str, week: IsoWeek, channel: str = store.EMAIL) -> str:
        domain = parseaddr(self.settings.sender)[1].rsplit("@", 1)[-1] or "portalpulse"
        safe = "".join(ch if ch.isalnum() else "-" for ch in member_id)[:40]
        kind = "" if channel == store.EMAIL else f".{channel}"
        return make_msgid(idstring=f"digest.{week.label}.{safe}{kind}", domain=domain)

    def _claim(
        self, subscription: Subscription, week: IsoWeek, channel: str = store.EMAIL
    ) -> Outcome | tuple[dict[str, Any], store.Claim]:
        """The claim to send with on ``channel``, or the outcome that says why not."""
        member = subscription.member
        where = member.email if channel == store.EMAIL else subscription.webhook_shown
        base: dict[str, Any] = {
            "member_id": member.member_id,
            "email": where or "",
            "week": week.label,
            "channel": channel,
        }
        if not where:
            missing = "team member has no email address" if channel == store.EMAIL else "no webhook"
            return Outcome(**base, status="failed", error=missing)
        claim = store.claim(
            self.engine,
            self.workspace_id,
            member.member_id,
            week.label,
            where,
            self._message_id(member.member_id, week, channel),
            channel=channel,
        )
        if claim.digest_id is None:
            status = "in_doubt" if claim.in_doubt else "skipped"
            return Outcome(**base, status=status, error=claim.reason, message_id=claim.message_id)
        return base, claim

    def _build(
        self,
        subscription: Subscription,
        week: IsoWeek,
        channels: dict[str, store.Claim],
        shared: WeekData,
    ) -> Built:
        """The email and/or webhook body of the claimed channels (runs in a worker thread)."""
        prepared = self.prepare(subscription, week, shared)
        message = body = None
        if store.EMAIL in channels:
            message = build_message(
                prepared.content,
                prepared.summary,
                prepared.png,
                sender=self.settings.sender,
                message_id=channels[store.EMAIL].message_id,
            )
        body_error = None
        if store.WEBHOOK in channels and subscription.webhook_kind:
            try:
                body = payload(subscription.webhook_kind, prepared.content, prepared.summary)
            except Exception as exc:  # the email must not depend on the chat rendering
                log.error("webhook body for %s: %r", subscription.member.member_id, exc)
                body_error = f"could not render the webhook body: {type(exc).__name__}: {exc}"
        return Built(message, body, prepared.summary.source, body_error)

    def _finish(
        self,
        mailer: Mailer,
        poster: Poster,
        subscription: Subscription,
        slots: list[Slot],
        job: Job,
    ) -> list[tuple[tuple[int, int], Outcome]]:
        out = []
        try:
            built = job.result()
        except Exception as exc:  # a broken digest must not stop the others
            member = subscription.member.member_id
            log.error("digest for %s (%s) could not be built: %r", member, exc, exc)
            error = f"could not build the digest: {type(exc).__name__}: {exc}"
            for slot, base, claim in slots:
                assert claim.digest_id is not None
                store.record_error(self.engine, claim.digest_id, error, final=True)
                failed = Outcome(**base, status="failed", error=error, message_id=claim.message_id)
                out.append((slot, failed))
            return out
        for slot, base, claim in slots:
            assert claim.digest_id is not None
            send: Callable[[], None]
            if base["channel"] == store.EMAIL:
                message = built.message
                assert message is not None

                def send(message: EmailMessage = message) -> None:
                    mailer.send(message)
            elif built.body is None:
                error = built.body_error or "no webhook body"
                store.record_error(self.engine, claim.digest_id, error, final=True)
                failed = Outcome(**base, status="failed", error=error, message_id=claim.message_id)
                out.append((slot, failed))
                continue
            else:
                url, body = subscription.webhook_url, built.body
                assert url is not None

                def send(url: str = url, body: dict[str, Any] = body) -> None:
                    poster.post(url, body)

            outcome = self._deliver(send, claim, base, built.source)
            out.append((slot, outcome))
        return out

    def _deliver(
        self, send: Callable[[], None], claim: store.Claim, base: dict[str, Any], source: str
    ) -> Outcome:
        digest_id = claim.digest_id
        assert digest_id is not None
        limit = self.settings.max_attempts
        attempts = 0
        error = ""
        for tries in range(1, limit + 1):
            attempts = store.start_attempt(self.engine, digest_id)
            try:
                send()
            except DeliveryError as exc:
                error = str(exc)
                if exc.in_doubt:  # the server may have it: a gap is better than a copy
                    store.mark_in_doubt(self.engine, digest_id, error)
                    log.error("digest to %s, attempt %d: %s", base["email"], attempts, error)
                    return Outcome(
                        **base,
                        status="in_doubt",
                        attempts=attempts,
                        error=error,
                        message_id=claim.message_id,
                        summary_source=source,
                    )
                final = not exc.transient or tries >= limit
                store.record_error(self.engine, digest_id, error, final=final)
                log.warning("digest to %s, attempt %d: %s", base["email"], attempts, error)
                if final:
                    break
                self.sleep(self.settings.backoff_s * 2 ** (tries - 1))
                continue
            store.mark_sent(self.engine, digest_id)
            return Outcome(
                **base,
                status="sent",
                attempts=attempts,
                message_id=claim.message_id,
                summary_source=source,
            )
        return Outcome(
            **base,
            status="failed",
            attempts=attempts,
            error=error,
            message_id=claim.message_id,
            summary_source=source,
        )
