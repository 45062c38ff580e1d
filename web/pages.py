"""The Portal Engagement page (``GET /``) and the two small JSON routes only it needs.

The page is a server-rendered shell (``web/templates/index.html``) plus vanilla
JavaScript (``web/static/``): every number on it is fetched from the same
``/api/metrics/{section}`` routes that the CLI's ``--json`` mirrors, so the page
never computes a metric. The shell itself holds no workspace data, which is why
it is served without auth; the data routes it calls go through ``TenantDep``.

:func:`install` is the one line :func:`server.create_app` calls: it adds the
router and mounts ``/static`` (a router cannot carry a mount).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import or_, select

from metrics.models import Account
from metrics.scope import RANGES
from metrics.semantic.vocabulary import REGISTRY
from web.choices import filter_choices
from web.deps import RuntimeDep, TenantDep
from web.suggest import suggestions

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

RANGE_LABELS = {name: r.label for name, r in REGISTRY.ranges.items()}
"""The range menu's labels, as the semantic registry declares them."""


def vocabulary() -> dict[str, dict[str, dict[str, str]]]:
    """Labels and display formats of every measure and table column, for the page's script
    (``web/static/js/vocabulary.js``): the page restates none of them."""
    return {
        "measures": {
            n: {"label": m.label, "format": m.format} for n, m in REGISTRY.measures.items()
        },
        "columns": {n: {"label": c.label, "format": c.format} for n, c in REGISTRY.columns.items()},
    }


router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request) -> HTMLResponse:
    """The dashboard shell; its script reads the filters from the URL and loads the data."""
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "ranges": [(key, RANGE_LABELS[key]) for key in RANGES],
            "vocabulary": json.dumps(vocabulary()),
        },
    )


@router.get("/api/filter-options", tags=["page"])
def filter_options(rt: RuntimeDep, tn: TenantDep) -> dict[str, Any]:
    """The values the page's filter menus offer: owners, accounts, playbooks, partner types."""
    with rt.engine.connect() as conn:
        return filter_choices(conn, tn.id)


@router.get("/api/suggestions", tags=["page"])
def suggested_questions(
    rt: RuntimeDep,
    tn: TenantDep,
    view: Annotated[
        Literal["overview", "projects", "leaderboard", "content", "risks"],
        Query(description="The dashboard section in view; the questions follow it."),
    ] = "overview",
    range: Annotated[  # type: ignore[valid-type]
        Literal[RANGES] | None,
        Query(description="Named range of the page's window (default last_30_days)."),
    ] = None,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="First day of a custom window, YYYY-MM-DD (with `to`).",
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="Last day of a custom window, YYYY-MM-DD, inclusive.",
        ),
    ] = None,
    account: Annotated[
        list[str] | None,
        Query(description="Account filter (id or name); one account names it in questions."),
    ] = None,
    partner_type: Annotated[
        Literal["referral", "reseller"] | None,
        Query(description="Partner type filter: questions about that kind of partner."),
    ] = None,
) -> dict[str, Any]:
    """Questions for the chat panel that follow the page's view, window and filters."""
    account_name = None
    if account and len(account) == 1:
        with rt.engine.connect() as conn:
            account_name = conn.scalar(
                select(Account.name).where(
                    Account.workspace_id == tn.id,
                    or_(Account.account_id == account[0], Account.name == account[0]),
                )
            )
    return suggestions(
        view,
        range_=range,
        start=from_,
        end=to,
        partner_type=partner_type,
        account_name=account_name,
    )


def install(app: FastAPI) -> None:
    """Add the page, its JSON routes and ``/static`` to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
