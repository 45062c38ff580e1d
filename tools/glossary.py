"""The metrics glossary, built from docs/METRICS.md — the one place definitions are written.

Entries are the page's headings and the bold-led definitions under them
(``- **avg_session_seconds** — …``). :func:`define` finds the entries for a term:
semantically through the vector store when one is given, else by word overlap
with a few synonyms (visit = session, avg = mean …).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

METRICS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "METRICS.md"
_BOLD_LEAD = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*]+)\*\*\s*[:—–-]?\s*(.*)$")
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
_STOP = {"what", "does", "do", "is", "the", "a", "an", "of", "mean", "means", "how", "by"}


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

    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            close()
            heading, body = line.lstrip("#").strip(), []
            continue
        bold = _BOLD_LEAD.match(line)
        if bold:
            out.append({"term": bold.group(1).strip(), "text": bold.group(2).strip()})
        if line.strip():
            body.append(line.strip())
    close()
    return tuple(e for e in out if e["text"])


def define(term: str, store: Any = None, k: int = 2) -> list[dict[str, str]]:
    """The ``k`` glossary entries that best explain ``term``."""
    if store is not None:
        try:
            found = store.search_glossary(term, k=k)
            if found:
                return [{"term": f.term, "text": f.text} for f in found]
        except Exception:  # fall back to words if the index is unavailable
            pass
    wanted = _words(term)
    scored = []
    for index, entry in enumerate(entries()):
        in_term = len(wanted & _words(entry["term"]))
        in_text = len(wanted & _words(entry["text"]))
        if in_term or in_text:
            scored.append((-(3 * in_term + in_text), len(entry["text"]), index, entry))
    return [entry for *_, entry in sorted(scored)[:k]]
