"""Error responses: every client mistake is a 4xx whose ``detail`` says what and where.

FastAPI's own validation errors are a list of ``{loc, msg}``; the handler here
keeps that list (as ``errors``) and adds one readable line per problem in
``detail`` — "query parameter 'page': Input should be greater than or equal to
1" — so the page and curl users read the same kind of message as from a
:class:`~metrics.scope.ScopeError`. A scope error likewise keeps every problem of
the request: ``detail`` names them all and ``problems`` lists each
(:func:`scope_unprocessable`).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from metrics.errors import ScopeError

_WHERE = {"query": "query parameter", "path": "path parameter", "header": "header"}


def unprocessable(message: str, **extra: Any) -> HTTPException:
    """A 422 with a one-line ``detail`` (and structured extras, e.g. row errors)."""
    if extra:
        return HTTPException(422, {"message": message, **extra})
    return HTTPException(422, message)


def scope_unprocessable(exc: ScopeError, where: str = "") -> HTTPException:
    """A 422 for a scope that cannot be resolved: ``detail`` names every problem in one
    line (``where`` before it, e.g. ``filters: ``) and ``problems`` lists each — its
    ``parameter``, ``value``, ``kind`` (``not_found``, ``ambiguous``, ``out_of_scope``
    or ``invalid``), ``message`` and ``candidates`` — so a client drops or fixes them
    all at once."""
    return unprocessable(where + str(exc), problems=exc.describe_problems())


def describe(loc: tuple[Any, ...] | list[Any]) -> str:
    """Where a problem is, in words.

    ``('query', 'page')`` → "query parameter 'page'"; ``('body', 3, 'user_id')`` →
    ``body[3].user_id``.
    """
    if not loc:
        return "request"
    head, *rest = loc
    if head in _WHERE and rest:
        return f"{_WHERE[head]} {rest[0]!r}"
    path = str(head)
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


_BRANCH = re.compile(r"^(list\[.*\]|[A-Z][A-Za-z0-9]*)$")
"""A union branch in a location (``list[EventsRecord]``, ``EventsRecord``): field names are
snake_case, so a CamelCase part is pydantic naming the branch, not a field."""
_MISMATCH = {"model_type", "model_attributes_type", "list_type", "dict_type"}


def _unbranched(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors of a "one record or a list" body, as if only the shape sent had been tried:
    drop the "expected the other shape" error and the branch names from locations."""
    kept = []
    for error in errors:
        loc = tuple(
            p for p in error.get("loc") or () if not (isinstance(p, str) and _BRANCH.match(p))
        )
        kept.append({**error, "loc": loc})
    specific = [e for e in kept if e.get("type") not in _MISMATCH]
    return specific or kept


def _error_lines(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    errors = _unbranched(errors)
    lines, clean = [], []
    for error in errors[:20]:
        loc = tuple(error.get("loc") or ())
        message = str(error.get("msg", "invalid"))
        lines.append(f"{describe(loc)}: {message}")
        clean.append({"loc": list(loc), "msg": message, "type": error.get("type")})
    more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
    return "; ".join(lines) + more, clean


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail, errors = _error_lines(list(exc.errors()))
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    """Like FastAPI's, but a dict detail is spread: ``{detail: message, errors: [...]}``."""
    assert isinstance(exc, HTTPException)
    body: dict[str, Any]
    if isinstance(exc.detail, dict) and "message" in exc.detail:
        body = {"detail": exc.detail["message"]}
        body.update({k: v for k, v in exc.detail.items() if k != "message"})
    else:
        body = {"detail": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


RETRY_AFTER_S = 2
"""What a 503 asks the client to wait before trying again."""
_BUSY = ("database is locked", "database is busy", "deadlock detected", "could not serialize")


async def _database_handler(request: Request, exc: Exception) -> JSONResponse:
    """The database could not take the request now — another process held SQLite's write
    lock for longer than the busy timeout, a PostgreSQL deadlock, a lost connection. The
    transaction was rolled back, so nothing of the request is stored: a 503 asks for a
    retry (which never duplicates: writes are upserts by id)."""
    assert isinstance(exc, OperationalError)
    text = str(exc.orig if exc.orig is not None else exc).lower()
    if any(word in text for word in _BUSY):
        detail = "the database is busy with another writer; nothing was stored, retry shortly"
    else:
        detail = "the database is unavailable right now; nothing was stored, retry shortly"
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(HTTPException, _http_handler)
    app.add_exception_handler(OperationalError, _database_handler)
