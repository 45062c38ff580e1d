"""Names in tool arguments → entity ids, through the one resolver, forgivingly.

A tool's names come from a question, so resolution is *forgiving*
(:func:`metrics.semantic.resolve.resolve_entity` with ``strict=False``): exact,
folded, then a clear fuzzy best, then the vector store's nearest name. The
caller's fixed filters arrive already resolved to ids (the service resolves
them once, strictly); a tool argument can narrow them, never widen them.
Every failure is a :class:`ResolveError` whose ``kind`` the tool's envelope
reports (``not_found``, ``ambiguous``, ``out_of_scope``).
"""

from __future__ import annotations

from sqlalchemy import Connection

from metrics.scope import Scope, resolve_scope
from metrics.semantic.resolve import EntityKind, ResolveError, SemanticHook, resolve_entity
from tools.args import ScopeArgs
from tools.context import ToolContext

SEMANTIC_SIMILARITY = 0.75
KINDS: dict[str, EntityKind] = {
    "project": "project",
    "account": "account",
    "partner": "partner",
    "user": "user",
    "owner": "member",
}
_STORE_KINDS = {"account": ["account", "partner"], "member": ["member"]}


def resolve_name(
    ctx: ToolContext, conn: Connection, what: str, text: str, *, exact: bool = False
) -> str:
    """The id of the ``what`` (project, account, partner, user, owner) named ``text``;
    ``exact``: that name only (the planner found no such name and says so)."""
    kind = KINDS[what]
    return resolve_entity(
        conn, ctx.workspace_id, kind, text, strict=exact,
        semantic=None if exact else _semantic(ctx), label=None,
    )  # fmt: skip


def _semantic(ctx: ToolContext) -> SemanticHook | None:
    """The vector store's nearest entity name, when it is close enough."""
    store = ctx.store
    if store is None:
        return None

    def nearest(what: str, text: str) -> str | None:
        try:
            found = store.search_entities(
                str(ctx.workspace_id), text, k=2, kinds=_STORE_KINDS.get(what, [what])
            )
        except Exception:  # a broken index must not break the answer: fall back to not found
            return None
        if found and found[0].similarity >= SEMANTIC_SIMILARITY:
            return str(found[0].entity_id)
        return None

    return nearest


def build_scope(ctx: ToolContext, conn: Connection, args: ScopeArgs) -> Scope:
    """The validated scope of ``args`` inside the caller's fixed filters (ids)."""
    fixed = ctx.fixed_filters
    owner = resolve_name(ctx, conn, "owner", args.owner) if args.owner else None
    if fixed.get("owner") and owner and owner != fixed["owner"]:
        raise ResolveError(
            "out_of_scope",
            "member",
            args.owner or "",
            message="you can only see your own book of business here",
        )
    accounts = [resolve_name(ctx, conn, "account", a) for a in args.account]
    allowed = tuple(fixed.get("accounts") or ())
    if allowed and accounts and not set(accounts) <= set(allowed):
        raise ResolveError(
            "out_of_scope",
            "account",
            ", ".join(args.account),
            message="that account is outside the accounts you can see",
        )
    projects = [resolve_name(ctx, conn, "project", p) for p in args.project]
    return resolve_scope(
        conn,
        ctx.workspace_id,
        as_of=ctx.as_of,
        range=args.range,
        start=args.from_,
        end=args.to,
        owner=owner or fixed.get("owner"),
        accounts=accounts or list(allowed),
        playbook=args.playbook or fixed.get("playbook"),
        partner_type=args.partner_type or fixed.get("partner_type"),
        status=list(args.status) or list(fixed.get("status") or ()),
        projects=projects or list(fixed.get("projects") or ()),
    )
