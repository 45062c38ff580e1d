"""One resolver for every name people type: entities, categories and the vocabulary.

Order, first hit wins: the exact id → the exact name (or email), ignoring case →
the *folded* name (case, accents, punctuation, possessives and extra spaces
ignored; a team member's first name) → fuzzy (forgiving mode only: a clear best
of :func:`metrics.semantic.search.search_entities`) → a pluggable semantic hook
(forgiving mode only; e.g. the vector store's nearest entity names).

Strict mode is for filters (CLI options, API parameters, fixed filters of an
ask): a near miss is an error listing the closest names. Forgiving mode is for
questions. Every failure is one :class:`ResolveError` whose ``kind`` says
``not_found``, ``ambiguous`` or ``out_of_scope`` and whose ``candidates`` say
what to offer. Names are resolved once, at the boundary; below it only ids flow.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, select

from metrics.errors import ScopeError
from metrics.models import Project
from metrics.semantic.search import _sources, search_entities

ResolveKind = Literal["not_found", "ambiguous", "out_of_scope"]
EntityKind = Literal["project", "account", "partner", "user", "member"]

CLEAR_MARGIN = 0.1
"""A fuzzy match this far ahead of the next is taken as meant, if good enough for its kind:"""
_MIN_SCORE = {"exact": 0.0, "prefix": 0.8, "contains": 0.6, "fuzzy": 0.4}
"""(the search scores prefix matches 0.80–0.95, substrings 0.60–0.75, fuzzy below 0.55)."""
_SEARCH_KINDS: dict[str, tuple[str, ...]] = {
    "project": ("project",),
    "account": ("account", "partner"),
    "partner": ("partner",),
    "user": ("user",),
    "member": ("member",),
}
_LABEL = {"member": "team member", "account": "account", "partner": "partner"}


@dataclass(frozen=True)
class Candidate:
    kind: str
    id: str
    name: str
    detail: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


class ResolveError(ScopeError):
    """A name that resolves to nothing, to several things, or to something out of scope."""

    def __init__(
        self,
        kind: ResolveKind,
        what: str,
        text: str,
        candidates: Sequence[Candidate] = (),
        message: str | None = None,
        *,
        label: str | None = None,
    ) -> None:
        self.kind = kind
        self.what = what
        self.text = text
        self.candidates = list(candidates)
        self.label = label
        super().__init__(message or self._message())

    def _message(self) -> str:
        label = self.label or _LABEL.get(self.what, self.what)
        names = "; ".join(f"{c.name!r} ({c.id})" for c in self.candidates)
        if self.kind == "ambiguous":
            return f"{label} {self.text!r} matches several: {names}. Which one?"
        if self.kind == "out_of_scope":
            return f"{label} {self.text!r} is outside what you can see here"
        hint = f"; did you mean {names}?" if names else ""
        if self.label:  # a filter: name the parameter
            return f"unknown {label} {self.text!r}{hint}"
        return f"no {label} called {self.text!r}{hint}"

    @property
    def choices(self) -> list[dict[str, str | None]]:
        return [c.as_dict() for c in self.candidates]

    def problem(self) -> dict[str, Any]:
        """The parameter (or kind of name), the value given, the kind of failure, the
        message and the candidates to offer."""
        return {
            "parameter": self.label or self.what,
            "value": self.text,
            "kind": self.kind,
            "message": str(self),
            "candidates": self.choices,
        }


class SemanticHook(Protocol):
    """Nearest entity by meaning (e.g. an embedding index): an id, or None."""

    def __call__(self, what: str, text: str) -> str | None: ...


_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_NON_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Lowercase, no accents, no possessive 's, punctuation as spaces, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _POSSESSIVE.sub("", plain.casefold())
    return " ".join(_NON_WORD.sub(" ", plain).replace("_", " ").split())


def resolve_entity(
    conn: Connection,
    workspace_id: int,
    what: EntityKind,
    text: str,
    *,
    strict: bool = True,
    semantic: SemanticHook | None = None,
    label: str | None = None,
) -> str:
    """The id of the ``what`` named ``text`` (see the module's order); or :class:`ResolveError`.

    ``label`` names the parameter the name came in (``owner``, ``account`` …) in messages.
    """
    value = text.strip()
    sources = _sources(workspace_id, _SEARCH_KINDS[what])
    for source in sources:  # an exact id (ids are unique per kind): one indexed lookup
        id_column = source.select.selected_columns[0]
        if conn.execute(source.select.where(id_column == value).limit(1)).first():
            return value
    rows = [
        (kind, id_, name, email, detail)
        for source in sources
        for kind, (id_, name, email, detail) in (
            (source.kind, r) for r in conn.execute(source.select)
        )
    ]
    for test in (
        lambda r: r[1] == value,
        lambda r: (
            r[2].casefold() == value.casefold() or (r[3] or "").casefold() == value.casefold()
        ),
        lambda r: fold(r[2]) == fold(value) or _first_name(what, r[2]) == fold(value),
    ):
        hits = {r[1]: r for r in rows if test(r)}
        if len(hits) == 1:
            return next(iter(hits))
        if len(hits) > 1:
            raise ResolveError(
                "ambiguous", what, value, [_candidate(r) for r in hits.values()], label=label
            )
    if strict:
        raise ResolveError("not_found", what, value, _closest(rows, value), label=label)
    matches = search_entities(conn, workspace_id, value, kinds=_SEARCH_KINDS[what], limit=6)
    if matches:
        top = matches[0]
        runner_up = matches[1].score if len(matches) > 1 else 0.0
        clear = top.score - runner_up >= CLEAR_MARGIN
        strong = top.score >= _MIN_SCORE[top.match]
        if strong and (len(matches) == 1 or clear):
            return top.id
        if not strong and len(matches) == 1:
            # "Quixote Foods" shares one word with "Pioneer Foods": not a name for it
            candidates = [Candidate(top.kind, top.id, top.name, top.detail)]
            raise ResolveError("not_found", what, value, candidates, label=label)
        raise ResolveError(
            "ambiguous",
            what,
            value,
            [Candidate(m.kind, m.id, m.name, m.detail) for m in matches[:5]],
        )
    if semantic is not None:
        found = semantic(what, value)
        if found is not None:
            return found
    raise ResolveError("not_found", what, value)


def _first_name(what: str, name: str) -> str | None:
    return fold(name).split(" ")[0] if what == "member" and name.strip() else None


def _candidate(row: tuple) -> Candidate:
    return Candidate(row[0], row[1], row[2], row[4])


def _closest(rows: list[tuple], value: str, n: int = 3) -> list[Candidate]:
    """Names like ``value``, whole or by their start ("Acne" → "Acme Corp")."""
    wanted = fold(value)

    def likeness(name: str) -> float:
        whole = difflib.SequenceMatcher(None, wanted, name).ratio()
        start = difflib.SequenceMatcher(None, wanted, name[: len(wanted)]).ratio()
        return max(whole, start)

    scored = sorted(((likeness(fold(r[2])), fold(r[2]), r) for r in rows), reverse=True)
    seen: set[str] = set()
    out: list[Candidate] = []
    for score, name, row in scored:
        if score < 0.7 or len(out) == n:
            break
        if name not in seen:
            seen.add(name)
            out.append(_candidate(row))
    return out


def resolve_value(what: str, text: str, allowed: Sequence[str]) -> str:
    """One of ``allowed`` (a category: status, partner type, playbook …) by folded equality."""
    key = fold(text)
    for value in allowed:
        if fold(value) == key:
            return value
    folded = {fold(v): v for v in allowed}
    close = difflib.get_close_matches(key, list(folded), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c.replace(' ', '_')) for c in close)}?" if close else ""
    listed = f" (one of: {', '.join(allowed)})" if len(allowed) <= 12 else ""
    raise ResolveError(
        "not_found",
        what,
        text,
        [Candidate(what, folded[c], folded[c]) for c in close],
        f"unknown {what} {text!r}{hint}{listed}",
        label=what,
    )


def playbooks(conn: Connection, workspace_id: int) -> list[str]:
    return sorted(
        conn.scalars(
            select(Project.playbook)
            .where(Project.workspace_id == workspace_id, Project.playbook.is_not(None))
            .distinct()
        )
    )
