"""The import contract of SPEC §2, as data: files, columns, parsers and references.

Each file maps to one table. A column either holds text, an id, an enum value,
a timestamp (stored as epoch milliseconds, UTC) or a date. A column that refers
to another entity names that entity's file; the importer checks the reference
against the ids already stored in the workspace and those in the same import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from metrics import models
from metrics.models import PARTNER_PORTAL
from metrics.semantic.vocabulary import (
    ACCOUNT_KINDS,
    ACTIONS,
    DEVICES,
    EVENT_TYPES,
    PARTNER_TYPES,
    PROJECT_STATUSES,
    RESOLUTIONS,
)


def parse_text(raw: str) -> str:
    return raw


def parse_timestamp(raw: str) -> int:
    """ISO 8601 instant → epoch milliseconds UTC; no offset means UTC.

    The instant must lie in :data:`FIRST_INSTANT` … :data:`END_INSTANT` once in UTC:
    ``9999-12-31T23:30:00-01:00`` is valid ISO 8601 but falls in year 10000, which no
    date arithmetic (days, weeks, windows) can handle.
    """
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not an ISO 8601 timestamp") from None
    ms = (value - (_EPOCH if value.tzinfo else _EPOCH_NAIVE)) // _MS
    if not FIRST_MS <= ms < END_MS:
        raise ValueError(f"{raw!r} is outside the supported range {SUPPORTED_RANGE}")
    return ms


def parse_event_time(raw: str) -> int:
    """An event's instant: :func:`parse_timestamp`, but a bare date is refused.

    Elsewhere (``sent_at``, a task's ``created_at``) a date alone reads as midnight UTC.
    An event's time of day decides its session, so ``2026-03-01`` would put every such
    event at midnight, in one session: the exporter most likely dropped the time.
    """
    if not _HAS_TIME.search(raw):
        parse_timestamp(raw)  # a malformed value gets the usual message
        raise ValueError(
            f"{raw!r} is a date without a time of day; an event needs its instant "
            f"(e.g. {raw.strip()}T09:30:00Z)"
        )
    return parse_timestamp(raw)


TIMESTAMP_PARSERS = (parse_timestamp, parse_event_time)


_HAS_TIME = re.compile(r"\d[Tt ]\d")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
FIRST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
END_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)
"""Instants are accepted from the start of 1900 to the end of 9998 (UTC): far beyond any
real portal activity, and a year short of the calendar's end, so windows, weeks and
previous periods around any stored instant can still be computed."""
FIRST_MS = (FIRST_INSTANT - _EPOCH) // _MS
END_MS = (END_INSTANT - _EPOCH) // _MS
SUPPORTED_RANGE = "1900-01-01T00:00:00Z to 9998-12-31T23:59:59Z"


def parse_date(raw: str) -> date:
    """``YYYY-MM-DD`` → date."""
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date (expected YYYY-MM-DD)") from None


def enum(*allowed: str) -> Callable[[str], str]:
    """A parser accepting one of ``allowed`` (case and surrounding spaces ignored)."""

    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(allowed)}")
        return value

    parse.__name__ = f"enum({', '.join(allowed)})"
    parse.allowed = allowed  # type: ignore[attr-defined]  # read by the column-wise checks
    return parse


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], object] = parse_text
    required: bool = False
    ref: str | None = None
    """File name of the referenced entity (``users.csv``), checked against known ids."""
    empty: object = None
    """Value stored when the cell is empty."""


@dataclass(frozen=True)
class RowCheck:
    """A rule across columns: ``test`` gets their parsed values, returns a message if broken."""

    columns: tuple[str, ...]
    blame: str
    """The column an error is reported on."""
    test: Callable[..., str | None]


@dataclass(frozen=True)
class FileSpec:
    name: str
    model: type[models.Base]
    key: str
    columns: tuple[Column, ...]
    checks: tuple[RowCheck, ...] = field(default=())

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


PARTNER_TYPE_ONLY_FOR_PARTNERS = RowCheck(
    ("kind", "partner_type"),
    "partner_type",
    lambda kind, partner_type: (
        "partner_type is only allowed on partner accounts"
        if partner_type and kind != "partner"
        else None
    ),
)
ACTION_KIND_FOR_ACTIONS = RowCheck(
    ("type", "action"),
    "action",
    lambda kind, action: (
        "an event of type 'action' needs an action kind"
        if kind == "action" and not action
        else None
    ),
)


def _id(name: str) -> Column:
    return Column(name, required=True)


FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "team_members.csv",
        models.TeamMember,
        "member_id",
        (_id("member_id"), Column("name", required=True), Column("email")),
    ),
    FileSpec(
        "accounts.csv",
        models.Account,
        "account_id",
        (
            _id("account_id"),
            Column("name", required=True),
            Column("kind", enum(*ACCOUNT_KINDS), required=True),
            Column("partner_type", enum(*PARTNER_TYPES)),
            Column("owner_id", ref="team_members.csv"),
        ),
        checks=(PARTNER_TYPE_ONLY_FOR_PARTNERS,),
    ),
    FileSpec(
        "projects.csv",
        models.Project,
        "project_id",
        (
            _id("project_id"),
            Column("account_id", required=True, ref="accounts.csv"),
            Column("name", required=True),
            Column("owner_id", ref="team_members.csv"),
            Column("status", enum(*PROJECT_STATUSES), required=True),
            Column("playbook"),
            Column("started_on", parse_date),
            Column("target_live_on", parse_date),
        ),
    ),
    FileSpec(
        "users.csv",
        models.User,
        "user_id",
        (
            _id("user_id"),
            Column("account_id", required=True, ref="accounts.csv"),
            Column("name", required=True),
            Column("email"),
            Column("role"),
        ),
    ),
    FileSpec("rooms.csv", models.Room, "room_id", (_id("room_id"), Column("name", required=True))),
    FileSpec(
        "resources.csv",
        models.Resource,
        "resource_id",
        (_id("resource_id"), Column("title", required=True), Column("kind")),
    ),
    FileSpec(
        "invites.csv",
        models.Invite,
        "invite_id",
        (
            _id("invite_id"),
            Column("user_id", required=True, ref="users.csv"),
            Column("project_id", ref="projects.csv", empty=PARTNER_PORTAL),
            Column("sent_at", parse_timestamp, required=True),
        ),
    ),
    FileSpec(
        "events.csv",
        models.Event,
        "event_id",
        (
            _id("event_id"),
            Column("user_id", required=True, ref="users.csv"),
            Column("project_id", ref="projects.csv", empty=PARTNER_PORTAL),
            Column("occurred_at", parse_event_time, required=True),
            Column("type", enum(*EVENT_TYPES), required=True),
            Column("action", enum(*ACTIONS)),
            Column("room_id", ref="rooms.csv"),
            Column("resource_id", ref="resources.csv"),
            Column("device", enum(*DEVICES)),
        ),
        checks=(ACTION_KIND_FOR_ACTIONS,),
    ),
    FileSpec(
        "tasks.csv",
        models.Task,
        "task_id",
        (
            _id("task_id"),
            Column("project_id", required=True, ref="projects.csv"),
            Column("title", required=True),
            Column("assignee_user_id", ref="users.csv"),
            Column("due_on", parse_date),
            Column("completed_at", parse_timestamp),
            Column("created_at", parse_timestamp),
        ),
    ),
    FileSpec(
        "tickets.csv",
        models.Ticket,
        "ticket_id",
        (
            _id("ticket_id"),
            Column("user_id", required=True, ref="users.csv"),
            Column("created_at", parse_timestamp, required=True),
            Column("resolution", enum(*RESOLUTIONS)),
        ),
    ),
)
"""In dependency order: a file only refers to files listed before it."""

FILES_BY_NAME = {spec.name: spec for spec in FILES}
REQUIRED_FILES = ("accounts.csv",)
