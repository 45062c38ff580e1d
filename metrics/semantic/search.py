"""Name resolution for the assistant: find projects, accounts, users, partners, members.

Ranking, best first: exact id (score 1.0), exact name or email ignoring case (0.99),
name or email starting with the text (0.80–0.95), containing it (0.60–0.75), then
fuzzy matches: ``best`` = the larger of the :class:`difflib.SequenceMatcher` ratio on
the whole name and 0.95 × the ratio on a run of its words as long as the text; kept when
``best`` ≥ 0.6, scored 0.5 × best + 0.05 × whole-name ratio (below 0.55). Ties:
kind order (project, account, partner, user, member), then name, then id. Exact, prefix
and substring candidates come from SQL; the fuzzy pass reads only the names of the kinds
asked for, and only when the SQL pass found no exact match and fewer than ``limit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Text,
    and_,
    cast,
    func,
    null,
    or_,
    select,
)

from metrics.models import Account, Project, TeamMember, User

KINDS = ("project", "account", "partner", "user", "member")
_NO_EMAIL = cast(null(), Text)
FUZZY_CUTOFF = 0.6


class EntityMatch(BaseModel):
    kind: str
    """project, account (customer), partner, user or member (team member)."""
    id: str
    name: str
    match: str
    """exact, prefix, contains or fuzzy."""
    score: float
    detail: str | None
    """Context to tell namesakes apart: the account, the email, the partner type."""


@dataclass(frozen=True)
class _Source:
    kind: str
    select: Select
    """Columns: id, name, email (or NULL), detail."""


def _sources(workspace_id: int, kinds: tuple[str, ...]) -> list[_Source]:
    partner_kind = "partner" if "partner" in kinds else "account"
    account_kinds = []
    if "account" in kinds:
        account_kinds.append("customer")
    if "partner" in kinds or "account" in kinds:
        account_kinds.append("partner")
    out = []
    if "project" in kinds:
        out.append(
            _Source(
                "project",
                select(Project.project_id, Project.name, _NO_EMAIL, Account.name)
                .join(
                    Account,
                    and_(
                        Account.workspace_id == Project.workspace_id,
                        Account.account_id == Project.account_id,
                    ),
                )
                .where(Project.workspace_id == workspace_id),
            )
        )
    for account_kind in account_kinds:
        out.append(
            _Source(
                "account" if account_kind == "customer" else partner_kind,
                select(
                    Account.account_id,
                    Account.name,
                    _NO_EMAIL,
                    func.coalesce(Account.partner_type, Account.kind),
                ).where(Account.workspace_id == workspace_id, Account.kind == account_kind),
            )
        )
    if "user" in kinds:
        out.append(
            _Source(
                "user",
                select(User.user_id, User.name, User.email, Account.name)
                .join(
                    Account,
                    and_(
                        Account.workspace_id == User.workspace_id,
                        Account.account_id == User.account_id,
                    ),
                )
                .where(User.workspace_id == workspace_id),
            )
        )
    if "member" in kinds:
        out.append(
            _Source(
                "member",
                select(
                    TeamMember.member_id, TeamMember.name, TeamMember.email, TeamMember.email
                ).where(TeamMember.workspace_id == workspace_id),
            )
        )
    return out


def _text_match(source: _Source, text: str) -> ColumnElement:
    cols = source.select.selected_columns
    lowered = text.lower()
    return or_(
        cols[0] == text,
        func.lower(cols[1]).contains(lowered, autoescape=True),
        func.lower(func.coalesce(cols[2], "")).contains(lowered, autoescape=True),
    )


def _grade(text: str, id_: str, name: str, email: str | None) -> tuple[str, float] | None:
    """(match, score) of one candidate by the rules of the module docstring."""
    q = text.lower()
    if id_ == text:
        return "exact", 1.0
    best: tuple[str, float] | None = None
    for position, field in enumerate((name, email or "")):
        value = field.lower()
        if not value:
            continue
        if value == q:
            grade = ("exact", 0.99 if position == 0 else 0.98)
        elif value.startswith(q):
            grade = ("prefix", round(0.8 + 0.15 * len(q) / len(value), 4))
        elif q in value:
            grade = ("contains", round(0.6 + 0.15 * len(q) / len(value), 4))
        else:
            continue
        if best is None or grade[1] > best[1]:
            best = grade
    return best


class _Fuzzy:
    """Ratio of one text against many names; quick upper bounds skip hopeless names."""

    def __init__(self, text: str) -> None:
        self.text = text.lower()
        self.width = len(self.text.split())
        self.matcher = SequenceMatcher()
        self.matcher.set_seq2(self.text)

    def _ratio(self, value: str) -> float:
        self.matcher.set_seq1(value)
        m = self.matcher
        if m.real_quick_ratio() < FUZZY_CUTOFF or m.quick_ratio() < FUZZY_CUTOFF:
            return 0.0
        return m.ratio()

    def score(self, name: str) -> tuple[float, float]:
        """(best, whole): best of the whole-name ratio and 0.95 × a run of words' ratio."""
        value = name.lower()
        whole = best = self._ratio(value)
        words = value.split()
        if len(words) > self.width:
            for i in range(len(words) - self.width + 1):
                run = " ".join(words[i : i + self.width])
                best = max(best, 0.95 * self._ratio(run))
        return best, whole


def search_entities(
    conn: Connection,
    workspace_id: int,
    text: str,
    kinds: tuple[str, ...] = KINDS,
    limit: int = 10,
) -> list[EntityMatch]:
    """Entities whose id, name (or email) match ``text``, best first, at most ``limit``."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)} (one of: {', '.join(KINDS)})")
    text = text.strip()
    if not text or limit <= 0:
        return []
    sources = _sources(workspace_id, tuple(kinds))
    found: dict[tuple[str, str], EntityMatch] = {}
    for source in sources:
        for id_, name, email, detail in conn.execute(
            source.select.where(_text_match(source, text))
        ):
            grade = _grade(text, id_, name, email)
            if grade:
                found[(source.kind, id_)] = EntityMatch(
                    kind=source.kind,
                    id=id_,
                    name=name,
                    match=grade[0],
                    score=grade[1],
                    detail=detail,
                )
    if len(found) < limit and not any(m.match == "exact" for m in found.values()):
        fuzzy = _Fuzzy(text)
        for source in sources:
            for id_, name, _email, detail in conn.execute(source.select):
                if (source.kind, id_) in found:
                    continue
                best, whole = fuzzy.score(name)
                if best >= FUZZY_CUTOFF:
                    found[(source.kind, id_)] = EntityMatch(
                        kind=source.kind,
                        id=id_,
                        name=name,
                        match="fuzzy",
                        score=round(0.5 * best + 0.05 * whole, 4),
                        detail=detail,
                    )
    ranked = sorted(found.values(), key=lambda m: (-m.score, KINDS.index(m.kind), m.name, m.id))
    return ranked[:limit]
