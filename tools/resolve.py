"""Names in tool arguments → entity ids: exact, then fuzzy, then semantic.

An exact match (id, name or email) wins. Otherwise a clear best fuzzy match is
taken; close runners-up make the name *ambiguous* and come back as choices; no
match at all makes it *not found* — unless the vector store knows a name that
means the same. A tool turns either outcome into an error envelope the model
(or the offline planner) can show to the person.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from metrics.lookups_search import search_entities
from metrics.scope import Scope, resolve_scope
from tools.args import ScopeArgs
from tools.context import ToolContext

CLEAR_MARGIN = 0.1
"""A match this far ahead of the next is taken as meant, if good enough for its kind:"""
_MIN_SCORE = {"exact": 0.0, "prefix": 0.8, "contains": 0.6, "fuzzy": 0.4}
"""(the search scores prefix matches 0.80–0.95, substrings 0.60–0.75, fuzzy below 0.55)."""
SEMANTIC_SIMILARITY = 0.75

KINDS = {
    "project": ("project",),
    "account": ("account", "partner"),
    "partner": ("partner",),
    "user": ("user",),
    "owner": ("member",),
}


class Unresolved(Exception):
    """A name that is unknown or ambiguous; carries the choices to offer."""

    def __init__(self, what: str, text: str, choices: list[dict[str, Any]]) -> None:
        self.what = what
        self.text = text
        self.choices = choices
        self.kind = "ambiguous" if choices else "not_found"
        if choices:
            names = "; ".join(f"{c['name']} ({c['id']})" for c in choices)
            message = f"{what} {text!r} matches several: {names}. Which one?"
        else:
            message = f"no {what} matches {text!r}"
        super().__init__(message)


class OutOfScope(Exception):
    """The arguments ask for data outside what the caller may see."""


def resolve_name(ctx: ToolContext, conn: Connection, what: str, text: str) -> str:
    """The id of the ``what`` (project, account, partner, user, owner) named ``text``."""
    matches = search_entities(conn, ctx.workspace_id, text, kinds=KINDS[what], limit=6)
    exact = [m for m in matches if m.match == "exact"]
    if len(exact) == 1:
        return exact[0].id
    if len(exact) > 1:
        raise Unresolved(what, text, [_choice(m) for m in exact])
    if matches:
        top = matches[0]
        runner_up = matches[1].score if len(matches) > 1 else 0.0
        clear = top.score - runner_up >= CLEAR_MARGIN
        if len(matches) == 1 or (clear and top.score >= _MIN_SCORE[top.match]):
            return top.id
        raise Unresolved(what, text, [_choice(m) for m in matches[:5]])
    semantic = _semantic(ctx, what, text)
    if semantic is not None:
        return semantic
    raise Unresolved(what, text, [])


def _choice(match: Any) -> dict[str, Any]:
    return {"kind": match.kind, "id": match.id, "name": match.name, "detail": match.detail}


def _semantic(ctx: ToolContext, what: str, text: str) -> str | None:
    if ctx.store is None:
        return None
    try:
        found = ctx.store.search_entities(str(ctx.workspace_id), text, k=2, kinds=list(KINDS[what]))
    except Exception:  # a broken index must not break the answer: fall back to not found
        return None
    if found and found[0].similarity >= SEMANTIC_SIMILARITY:
        return found[0].entity_id
    return None


def build_scope(ctx: ToolContext, conn: Connection, args: ScopeArgs) -> Scope:
    """The validated scope of ``args`` inside the caller's fixed filters."""
    fixed = ctx.fixed_filters
    owner = resolve_name(ctx, conn, "owner", args.owner) if args.owner else None
    if fixed.get("owner") and owner and owner != fixed["owner"]:
        raise OutOfScope("you can only see your own book of business here")
    accounts = [resolve_name(ctx, conn, "account", args.account)] if args.account else []
    allowed = tuple(fixed.get("accounts") or ())
    if allowed and accounts and not set(accounts) <= set(allowed):
        raise OutOfScope("that account is outside the accounts you can see")
    projects = [resolve_name(ctx, conn, "project", args.project)] if args.project else []
    return resolve_scope(
        conn,
        ctx.workspace_id,
        as_of=ctx.as_of,
        range=args.range,
        start=args.from_date,
        end=args.to_date,
        owner=owner or fixed.get("owner"),
        accounts=accounts or list(allowed),
        playbook=args.playbook or fixed.get("playbook"),
        partner_type=args.partner_type or fixed.get("partner_type"),
        status=[args.status] if args.status else list(fixed.get("status") or ()),
        projects=projects or list(fixed.get("projects") or ()),
    )
