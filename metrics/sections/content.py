"""Top content (SPEC §4.7): the most viewed resources and rooms in the window.

A view is a ``page_view`` event in ``[start, until)`` in a portal in scope
(:func:`metrics.query.portal_condition`) that names the resource (``resource_id``)
or the room (``room_id``); one event can count for both. ``unique_users`` counts
distinct users among those views. Both lists are ranked by views (most first),
then title / name, then id, and cut to ``limit``; ``total_resources`` and
``total_rooms`` say how many had at least one view.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, and_, func, select

from metrics.models import Event, Resource, Room
from metrics.query import portal_condition
from metrics.results import Result
from metrics.scope import Scope

DEFAULT_LIMIT = 10


class ResourceRow(BaseModel):
    resource_id: str
    title: str | None
    kind: str | None
    views: int
    unique_users: int


class RoomRow(BaseModel):
    room_id: str
    room: str | None
    views: int
    unique_users: int


class ContentResult(Result):
    section: str = "content"
    resources: list[ResourceRow]
    rooms: list[RoomRow]
    total_resources: int
    total_rooms: int
    limit: int


def page_views_in_window(scope: Scope) -> ColumnElement[bool]:
    """Condition: page_view events in ``[start, until)`` in a portal in scope."""
    return and_(
        Event.workspace_id == scope.workspace_id,
        Event.occurred_at >= scope.start,
        Event.occurred_at < scope.until,
        Event.type == "page_view",
        portal_condition(scope, Event.project_id, Event.user_id),
    )


def resource_views(conn: Connection, scope: Scope) -> list[ResourceRow]:
    """Every resource with a view in the window, most viewed first (one grouped query)."""
    views = (
        select(
            Event.resource_id.label("resource_id"),
            func.count().label("views"),
            func.count(func.distinct(Event.user_id)).label("unique_users"),
        )
        .where(page_views_in_window(scope), Event.resource_id.is_not(None))
        .group_by(Event.resource_id)
        .subquery()
    )
    query = select(views, Resource.title, Resource.kind).outerjoin(
        Resource,
        and_(
            Resource.workspace_id == scope.workspace_id,
            Resource.resource_id == views.c.resource_id,
        ),
    )
    rows = [ResourceRow(**r._mapping) for r in conn.execute(query)]
    # Ordered in Python, so that text order is the same on every database.
    rows.sort(key=lambda r: (-r.views, r.title or "", r.resource_id))
    return rows


def room_views(conn: Connection, scope: Scope) -> list[RoomRow]:
    """Every room with a view in the window, most viewed first (one grouped query)."""
    views = (
        select(
            Event.room_id.label("room_id"),
            func.count().label("views"),
            func.count(func.distinct(Event.user_id)).label("unique_users"),
        )
        .where(page_views_in_window(scope), Event.room_id.is_not(None))
        .group_by(Event.room_id)
        .subquery()
    )
    query = select(views, Room.name.label("room")).outerjoin(
        Room, and_(Room.workspace_id == scope.workspace_id, Room.room_id == views.c.room_id)
    )
    rows = [RoomRow(**r._mapping) for r in conn.execute(query)]
    rows.sort(key=lambda r: (-r.views, r.room or "", r.room_id))
    return rows


def compute(conn: Connection, scope: Scope, limit: int = DEFAULT_LIMIT) -> ContentResult:
    """The top ``limit`` resources and rooms by views in the window."""
    if limit < 1:
        raise ValueError(f"limit must be 1 or more (got {limit})")
    resources = resource_views(conn, scope)
    rooms = room_views(conn, scope)
    return ContentResult(
        scope=scope.describe(),
        resources=resources[:limit],
        rooms=rooms[:limit],
        total_resources=len(resources),
        total_rooms=len(rooms),
        limit=limit,
    )
