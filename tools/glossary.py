"""The metrics glossary, built from docs/METRICS.md — the one place definitions are written.

Entries are the page's headings, the bold-led definitions under them
(``- **avg_session_seconds** — …``) and table rows that name a field
(``| `stickiness` | … |``). :func:`define` finds the entries for a term: an
entry named by the question's words (or whose text holds them as a phrase)
comes first; then semantically through the vector store when one is given,
else by word overlap with a few synonyms (visit = session, avg = mean …).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

METRICS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "METRICS.md"
_BOLD_LEAD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*]+)\*\*\s*[:—–-]?\s*(.*)$")
_TABLE_TERM = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")
_SYNONYMS = {
    "visit": "session",
    "visits": "session",
    "sessions": "session",
    "avg": "average",
    "mean": "average",
    "length": "duration",
    "time": "duration",
    "logins": "login",
    "logged": "login",
    "users": "user",
    "partners": "partner",
    "invites": "invite",
    "invited": "invite",
    "tasks": "task",
}
_STOP = {
    "what", "does", "do", "is", "the", "a", "an", "of", "mean", "means", "meaning", "how", "by",
    "define", "definition", "explain", "counts", "as",
}  # fmt: skip


def _words(text: str) -> set[str]:
    found = re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))
    return {_SYNONYMS.get(w, w) for w in found if w not in _STOP}


@lru_cache(maxsize=1)
def entries(page: Path = METRICS_PAGE) -> tuple[dict[str, str], ...]:
    """(term, text) entries of the metrics page, in page order."""
    if not page.exists():
        return ()
    out: list[dict[str, str]] = []
    heading, body = "", []

    def close() -> None:
        if heading and body:
            out.append({"term": heading, "text": " ".join(body).strip()})

    lead: dict[str, str] | None = None  # a bold-led entry whose paragraph may go on
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            close()
            heading, body, lead = line.lstrip("#").strip(), [], None
            continue
        bold = _BOLD_LEAD.match(line)
        if bold:
            lead = {"term": bold.group(1).strip(), "text": bold.group(2).strip()}
            out.append(lead)
        elif lead is not None and line.strip() and not line.lstrip().startswith(("- ", "* ", "|")):
            lead["text"] = f"{lead['text']} {line.strip()}"  # its paragraph or list item wraps
        else:
            lead = None
        row = _TABLE_TERM.match(line)
        if row:
            cells = [c.strip() for c in row.group(2).split("|") if c.strip()]
            out.append({"term": row.group(1).strip(), "text": " — ".join(cells)})
        if line.strip():
            body.append(line.strip())
    close()
    return tuple(e for e in out if e["text"])


def define(term: str, store: Any = None, k: int = 2) -> list[dict[str, str]]:
    """The ``k`` glossary entries that best explain ``term``."""
    named = _named(term)
    if len(named) >= k:
        return named[:k]
    if store is not None:
        try:
            found = store.search_glossary(term, k=k)
            if found:
                near = [{"term": f.term, "text": f.text} for f in found]
                return (named + [e for e in near if e not in named])[:k]
        except Exception:  # fall back to words if the index is unavailable
            pass
    wanted = _words(term)
    scored = []
    for index, entry in enumerate(entries()):
        in_term = len(wanted & _words(entry["term"]))
        in_text = len(wanted & _words(entry["text"]))
        if in_term or in_text:
            scored.append((-(3 * in_term + in_text), len(entry["text"]), index, entry))
    near = [entry for *_, entry in sorted(scored)]
    return (named + [e for e in near if e not in named])[:k]


def _named(term: str) -> list[dict[str, str]]:
    """Entries the question names outright: by their term, else as a phrase in their text.

    Nearest-neighbour search can prefer a long passage that merely mentions a
    word over the short entry that *is* the word ("stickiness" → the DAU/MAU row).
    """
    wanted = _words(term)
    by_term = [entry for entry in entries() if wanted and _words(entry["term"]) == wanted]
    if by_term:
        return by_term
    phrase = " ".join(w for w in re.findall(r"[a-z0-9]+", term.lower()) if w not in _STOP)
    if phrase.count(" ") < 1:
        return []
    return [e for e in entries() if phrase in e["text"].lower()]
