"""Subscriptions and the digest ledger (tables ``digest_subscriptions`` and ``digests``).

A subscription delivers by email (the member's address), to a Slack / Teams
incoming webhook, or both; each channel has its own ledger row per week
(``channel`` ``email`` or ``webhook``) and the protocol below holds for each: an
HTTP request that went out without a response in time is in doubt like an SMTP
DATA without a reply.

**Exactly once.** Before anything is sent, a run *claims* the row
``(workspace, member, week)`` by inserting it (the unique key makes the insert
the lock); a run that finds the row already there sends nothing for it unless
it is ``failed`` (a later run may retry a failure) or a claim that never got to
SMTP and is older than the lease. Each SMTP attempt is counted in the row
*before* it starts. So:

* crash after the claim, before any attempt → ``sending`` with 0 attempts; the
  next run after the lease (default 15 min) claims it again and sends;
* crash between the SMTP server accepting the message and the status update →
  ``sending`` with attempts ≥ 1: *in doubt*. It is never resent automatically
  (a duplicate is worse than a gap); runs report it with its Message-ID, which
  an operator can look up in the mail server's log and then
  ``digest send --release-in-doubt`` turns it into ``failed`` so the next run
  sends it;
* the SMTP conversation broke after DATA (connection closed, reply late) →
  ``in_doubt`` at once: the server may hold the message, so it is not retried,
  neither in this run nor in a later one, until an operator releases it.

**Who holds a claim.** A ``sending`` row names its holder (host, pid and the
process's start time). A run that finds a claim whose holder was a process on
the same host (and pid namespace) that no longer runs knows nobody holds it: with 0 attempts it
takes it at once, with attempts ≥ 1 it reports it in doubt at once. Holders on
other hosts are judged by the lease alone.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from assistant.digest.webhook import WebhookUrlError, check_webhook, redact
from assistant.digest.weeks import check_hour, parse_day, zone
from metrics.app_models import Digest, DigestSubscription
from metrics.db import write_transaction
from metrics.models import TeamMember

SENDING, SENT, FAILED, IN_DOUBT = "sending", "sent", "failed", "in_doubt"
EMAIL, WEBHOOK = "email", "webhook"
CLAIM_LEASE = timedelta(minutes=15)


class SubscriptionError(ValueError):
    """A subscription request that cannot be honoured (unknown member, no email, …)."""


@dataclass(frozen=True)
class Member:
    member_id: str
    name: str
    email: str | None


@dataclass(frozen=True)
class Subscription:
    member: Member
    enabled: bool
    day: str
    hour: int
    timezone: str
    team: tuple[str, ...]
    """Empty: the member's own book."""
    email_delivery: bool = True
    """Mail it to the member's address."""
    webhook_kind: str | None = None
    """``slack`` or ``teams`` when the digest is also (or only) posted to a webhook."""
    webhook_url: str | None = field(default=None, repr=False)
    """A secret: show :attr:`webhook_shown` instead."""

    @property
    def scope_members(self) -> tuple[str, ...]:
        """Whose book the digest covers."""
        return self.team or (self.member.member_id,)

    @property
    def webhook_shown(self) -> str | None:
        """The webhook as it may be shown or logged: ``slack https://hooks.slack.com/…``."""
        if not self.webhook_kind or not self.webhook_url:
            return None
        return f"{self.webhook_kind} {redact(self.webhook_url)}"

    @property
    def channels(self) -> tuple[str, ...]:
        """``email`` and/or ``webhook``, in that order."""
        out = (EMAIL,) if self.email_delivery else ()
        return out + ((WEBHOOK,) if self.webhook_kind and self.webhook_url else ())


def _now() -> datetime:
    return datetime.now(UTC)


def members(conn: Connection, workspace_id: int) -> dict[str, Member]:
    rows = conn.execute(
        select(TeamMember.member_id, TeamMember.name, TeamMember.email).where(
            TeamMember.workspace_id == workspace_id
        )
    )
    return {r[0]: Member(r[0], r[1], r[2]) for r in rows}


def find_member(conn: Connection, workspace_id: int, text: str) -> Member:
    """A team member by id, email or exact name (case-insensitive)."""
    wanted = text.strip()
    known = members(conn, workspace_id)
    if wanted in known:
        return known[wanted]
    lowered = wanted.lower()
    hits = [m for m in known.values() if lowered in {(m.email or "").lower(), m.name.lower()}]
    if len(hits) == 1:
        return hits[0]
    if hits:
        ids = ", ".join(sorted(m.member_id for m in hits))
        raise SubscriptionError(f"member {text!r} is ambiguous: {ids}")
    raise SubscriptionError(
        f"no team member with id, email or name {text!r} (see team_members.csv)"
    )


def subscribe(
    conn: Connection,
    workspace_id: int,
    member: str,
    *,
    team: tuple[str, ...] | list[str] = (),
    day: str = "mon",
    hour: int = 8,
    timezone: str = "UTC",
    email: bool | None = None,
    webhook: tuple[str, str] | None = None,
    remove_webhook: bool = False,
    now: datetime | None = None,
) -> Subscription:
    """Create or update (and enable) a member's subscription; returns it.

    ``email``: mail the digest (None: keep what the subscription had; new ones do).
    ``webhook``: ``(kind, url)`` to post it to as well (kept as it was when None);
    ``remove_webhook`` drops it. A subscription needs at least one of the two.
    """
    recipient = find_member(conn, workspace_id, member)
    key = and_(
        DigestSubscription.workspace_id == workspace_id,
        DigestSubscription.member_id == recipient.member_id,
    )
    old = conn.execute(
        select(
            DigestSubscription.email_delivery,
            DigestSubscription.webhook_kind,
            DigestSubscription.webhook_url,
        ).where(key)
    ).one_or_none()
    by_email = email if email is not None else (old.email_delivery if old else True)
    hook: tuple[str | None, str | None] = (
        (old.webhook_kind, old.webhook_url) if old else (None, None)
    )
    if webhook is not None:
        try:
            hook = check_webhook(*webhook)
        except WebhookUrlError as exc:
            raise SubscriptionError(str(exc)) from None
    elif remove_webhook:
        hook = (None, None)
    if not by_email and not hook[1]:
        raise SubscriptionError(
            f"the digest of {recipient.member_id} ({recipient.name}) needs email delivery "
            "or a webhook"
        )
    if by_email and not recipient.email:
        raise SubscriptionError(
            f"team member {recipient.member_id} ({recipient.name}) has no email address "
            "(turn email delivery off to use a webhook only)"
        )
    team_ids = tuple(dict.fromkeys(find_member(conn, workspace_id, m).member_id for m in team))
    day, hour = parse_day(day), check_hour(hour)
    zone(timezone)
    at = now or _now()
    values = {
        "enabled": True,
        "day_of_week": day,
        "hour": hour,
        "timezone": timezone,
        "team": ",".join(team_ids),
        "email_delivery": by_email,
        "webhook_kind": hook[0],
        "webhook_url": hook[1],
        "updated_at": at,
    }
    if conn.execute(update(DigestSubscription).where(key).values(**values)).rowcount == 0:
        conn.execute(
            insert(DigestSubscription).values(
                workspace_id=workspace_id,
                member_id=recipient.member_id,
                created_at=at,
                **values,
            )
        )
    return Subscription(recipient, True, day, hour, timezone, team_ids, by_email, *hook)


def unsubscribe(
    conn: Connection, workspace_id: int, member_id: str, now: datetime | None = None
) -> bool:
    """Turn a subscription off (kept, so its settings survive); False if there was none."""
    result = conn.execute(
        update(DigestSubscription)
        .where(
            DigestSubscription.workspace_id == workspace_id,
            DigestSubscription.member_id == member_id,
        )
        .values(enabled=False, updated_at=now or _now())
    )
    return result.rowcount > 0


def subscriptions(
    conn: Connection, workspace_id: int, *, enabled_only: bool = False
) -> list[Subscription]:
    """Subscriptions of the workspace, by member id."""
    known = members(conn, workspace_id)
    query = select(DigestSubscription).where(DigestSubscription.workspace_id == workspace_id)
    if enabled_only:
        query = query.where(DigestSubscription.enabled.is_(True))
    out = []
    for row in conn.execute(query.order_by(DigestSubscription.member_id)):
        member = known.get(row.member_id, Member(row.member_id, row.member_id, None))
        team = tuple(t for t in row.team.split(",") if t)
        out.append(
            Subscription(
                member,
                row.enabled,
                row.day_of_week,
                row.hour,
                row.timezone,
                team,
                row.email_delivery,
                row.webhook_kind,
                row.webhook_url,
            )
        )
    return out


# -- the ledger -----------------------------------------------------------------------


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or ``-``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "-"


def _host() -> str:
    """This host as seen by pids: the host name and the pid namespace (two containers
    with one host name have different namespaces; pids mean nothing across them)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:")
    except OSError:
        namespace = "-"
    return f"{socket.gethostname().replace(' ', '_')}/{namespace}"


def process_tag() -> str:
    """This process as a claim holder: ``host pid start``."""
    pid = os.getpid()
    return f"{_host()} {pid} {_start_time(pid)}"


def holder_gone(holder: str | None) -> bool:
    """True only when ``holder`` was a process on this host that no longer runs."""
    try:
        host, pid_text, start = (holder or "").split(" ")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != _host():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    now = _start_time(pid)
    return now != "-" and start != "-" and now != start  # the pid was reused


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming ``(member, week)``: a row id to send with, or why not."""

    digest_id: int | None
    message_id: str
    reason: str | None = None
    """Why nothing is to be sent (already sent, in doubt, in progress)."""
    in_doubt: bool = False


def claim(
    engine: Engine,
    workspace_id: int,
    member_id: str,
    week: str,
    email: str,
    message_id: str,
    now: datetime | None = None,
    lease: timedelta = CLAIM_LEASE,
    channel: str = EMAIL,
) -> Claim:
    """Take the right to send ``member``'s digest for ``week`` on ``channel`` (committed
    at once); ``email`` is the address, or the webhook as it may be shown."""
    at = now or _now()
    try:
        with write_transaction(engine) as conn:
            digest_id = conn.execute(
                insert(Digest)
                .values(
                    workspace_id=workspace_id,
                    member_id=member_id,
                    week=week,
                    channel=channel,
                    email=email,
                    status=SENDING,
                    attempts=0,
                    message_id=message_id,
                    claimed_at=at,
                    updated_at=at,
                    holder=process_tag(),
                )
                .returning(Digest.id)
            ).scalar_one()
        return Claim(digest_id, message_id)
    except IntegrityError:
        pass
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(Digest).where(
                Digest.workspace_id == workspace_id,
                Digest.member_id == member_id,
                Digest.week == week,
                Digest.channel == channel,
            )
        ).one()
        if row.status == SENT:
            return Claim(None, row.message_id, f"already sent at {row.sent_at:%Y-%m-%d %H:%M} UTC")
        where, log = (
            ("the SMTP server", f"the mail log for {row.message_id}")
            if channel == EMAIL
            else (f"webhook {row.email}", "the channel for this week's digest")
        )
        in_doubt = Claim(
            None,
            row.message_id,
            f"in doubt: {where} may have accepted it ({row.attempts} attempt(s)"
            f"{'; ' + row.last_error if row.last_error else ''}); check {log}, "
            "then use --release-in-doubt",
            in_doubt=True,
        )
        if row.status == IN_DOUBT:
            return in_doubt
        if row.status == SENDING:
            gone = holder_gone(row.holder)
            if row.attempts:
                if not gone and row.updated_at >= at - lease:
                    return Claim(None, row.message_id, "being sent by another run")
                return in_doubt
            if not gone and row.claimed_at >= at - lease:
                return Claim(None, row.message_id, "being sent by another run")
        taken = conn.execute(
            update(Digest)
            .where(
                Digest.id == row.id,
                Digest.status == row.status,
                Digest.claimed_at == row.claimed_at,
            )
            .values(
                status=SENDING,
                email=email,
                message_id=message_id,
                claimed_at=at,
                updated_at=at,
                holder=process_tag(),
            )
        ).rowcount
    if taken != 1:
        return Claim(None, message_id, "claimed by another run")
    return Claim(row.id, message_id)


def start_attempt(engine: Engine, digest_id: int, now: datetime | None = None) -> int:
    """Count an SMTP attempt before it starts (committed); returns the new count."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(Digest)
            .where(Digest.id == digest_id)
            .values(attempts=Digest.attempts + 1, updated_at=now or _now())
        )
        return conn.scalar(select(Digest.attempts).where(Digest.id == digest_id))


def record_error(
    engine: Engine, digest_id: int, error: str, *, final: bool, now: datetime | None = None
) -> None:
    """Keep the last error; ``final`` marks the digest failed (a later run may retry it)."""
    values: dict[str, object] = {"last_error": error[:2000], "updated_at": now or _now()}
    if final:
        values["status"] = FAILED
    with write_transaction(engine) as conn:
        conn.execute(update(Digest).where(Digest.id == digest_id).values(**values))


def mark_in_doubt(engine: Engine, digest_id: int, error: str, now: datetime | None = None) -> None:
    """The SMTP outcome is unknown: never resent until :func:`release_in_doubt`."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(Digest)
            .where(Digest.id == digest_id)
            .values(status=IN_DOUBT, last_error=error[:2000], updated_at=now or _now())
        )


def mark_sent(engine: Engine, digest_id: int, now: datetime | None = None) -> None:
    at = now or _now()
    with write_transaction(engine) as conn:
        conn.execute(
            update(Digest)
            .where(Digest.id == digest_id)
            .values(status=SENT, sent_at=at, updated_at=at, last_error=None)
        )


def release_in_doubt(
    conn: Connection, workspace_id: int, week: str, now: datetime | None = None
) -> int:
    """Mark in-doubt digests of ``week`` failed so the next run sends them; returns how many.

    In doubt: marked so by delivery, or ``sending`` with an SMTP attempt started."""
    return conn.execute(
        update(Digest)
        .where(
            Digest.workspace_id == workspace_id,
            Digest.week == week,
            or_(
                Digest.status == IN_DOUBT,
                and_(Digest.status == SENDING, Digest.attempts > 0),
            ),
        )
        .values(status=FAILED, last_error="released by an operator", updated_at=now or _now())
    ).rowcount


def ledger(conn: Connection, workspace_id: int, week: str | None = None) -> list[Row]:
    """Stored digests (of one week, or all), newest week first, then by member and channel
    (``email`` before ``webhook``): rows with the columns of ``digests`` as attributes."""
    query = select(Digest).where(Digest.workspace_id == workspace_id)
    if week:
        query = query.where(Digest.week == week)
    return list(conn.execute(query.order_by(Digest.week.desc(), Digest.member_id, Digest.channel)))
