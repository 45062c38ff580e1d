"""Finding entity names inside a question ("how is Northwind doing?", "Jane's projects").

The index holds every project, account, partner, user and team member name of
a workspace, keyed by first word. A name matches when all its words appear in
order; for projects, accounts and partners a distinctive first word alone also
matches ("Northwind" for "Northwind Logistics"), and team members match by first
name ("Jane's projects"). Longer matches win; overlapping ones are dropped.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from threading import Lock

import yaml
from sqlalchemy import Connection, Engine, select

from assistant.planner.parse import OUT_OF_SCOPE_TERMS, fold, measure_phrases, strip_accents
from assistant.vectorstore import EntityName
from metrics.models import Account, Project, TeamMember, User
from metrics.semantic.vocabulary import REGISTRY

_WORD = re.compile(r"[a-z0-9][a-z0-9&.\-]*")
_STOP = {
    "the", "a", "an", "of", "and", "for", "in", "on", "to", "my", "our", "is", "are", "with",
    "who", "what", "which", "how", "project", "projects", "account", "partner", "portal",
    "team", "group", "inc", "ltd", "llc", "co", "corp", "company",
}  # fmt: skip
CACHE_SECONDS = 30.0
_GENERIC = {
    "onboarding", "rollout", "project", "projects", "portal", "setup", "set", "up", "launch",
    "program", "the", "a", "of", "and", "for", "to", "&", "one",
}  # fmt: skip
"""Words of a project's phase that name no phase in particular."""
_PROJECT_NOUNS = {"pilot", "rollout", "project", "launch", "migration", "integration",
                  "expansion", "setup", "implementation", "onboarding"}  # fmt: skip
_ENDINGS = ("s", "es", "ed", "d", "ing", "er", "ers", "ly", "ies")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    kind: str
    """project, account, partner, user or member."""
    id: str
    name: str
    text: str
    """The words of the question that matched."""
    full: bool
    start: int
    end: int


FUZZY = 0.8
"""How close a misspelt name word must be to the real one (difflib's ratio)."""


def _words(text: str) -> list[str]:
    """Words as names are matched: lowercase, accents dropped, possessives cut."""
    return [w.removesuffix("'s") for w in _WORD.findall(fold(text))]


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """Words the assistant reads as vocabulary (the example questions', the registry's):
    never taken for a misspelt name."""
    examples = Path(__file__).resolve().parent.parent / "examples.yaml"
    words: set[str] = set(_STOP)
    for group in yaml.safe_load(examples.read_text(encoding="utf-8")):
        for question in group["questions"]:
            words.update(_words(question))
    for phrase in measure_phrases():
        words.update(phrase.split())
    for dimension in REGISTRY.dimensions.values():
        for value in (dimension.name, *dimension.synonyms, *dimension.values):
            words.update(_words(value.replace("_", " ")))
            words.update(f"{w}s" for w in _words(value.replace("_", " ")))
    return frozenset(words)


def _a_playbook(mention: Mention, words: list[str]) -> bool:
    """A playbook's name is a filter when it cannot be a plain word: several words, or the
    question says "playbook" ("projects on the Migration playbook")."""
    return mention.end - mention.start > 1 or bool({"playbook", "playbooks"} & set(words))


def _like(a: str, b: str) -> bool:
    return a == b or (
        len(a) >= 4 and len(b) >= 4 and difflib.SequenceMatcher(None, a, b).ratio() >= FUZZY
    )


class EntityIndex:
    def __init__(
        self,
        entries: list[tuple[str, str, str]],
        roles: tuple[str, ...] = (),
        emails: dict[str, str] | None = None,
    ) -> None:
        self.entries = entries
        self.roles = roles
        """The users' roles (free text in the data): values of the role dimension."""
        self.emails = {k.lower(): v for k, v in (emails or {}).items()}
        """E-mail address → the member's or user's name."""
        self._names: list[str] | None = None
        self._user_firsts: dict[str, int] = {}
        self._member_firsts: set[str] = set()
        self._phases: dict[str, list[tuple[frozenset[str], str, str]]] = {}
        for kind, entity_id, name in entries:
            words = _words(name)
            if kind == "user" and len(words) > 1:
                self._user_firsts[words[0]] = self._user_firsts.get(words[0], 0) + 1
            elif kind == "member" and words:
                self._member_firsts.add(words[0])
            elif kind == "project" and " — " in name:
                account, phase = name.split(" — ", 1)
                distinctive = frozenset(w for w in _words(phase) if w not in _GENERIC)
                if distinctive:
                    self._phases.setdefault(fold(account), []).append(
                        (distinctive, entity_id, name)
                    )
        self._by_first: dict[str, list[tuple[list[str], str, str, str]]] = {}
        firsts: dict[str, int] = {}
        for kind, entity_id, name in entries:
            words = _words(name)
            if not words:
                continue
            self._by_first.setdefault(words[0], []).append((words, kind, entity_id, name))
            firsts[words[0]] = firsts.get(words[0], 0) + 1
            if kind == "member" and len(words) > 1:
                self._by_first.setdefault(words[0], [])
        self._common = {w for w, n in firsts.items() if n > 3}
        self._firsts = sorted(w for w in self._by_first if len(w) >= 4)

    @classmethod
    def load(cls, conn: Connection, workspace_id: int, users: bool = True) -> EntityIndex:
        entries: list[tuple[str, str, str]] = []
        for project_id, name in conn.execute(
            select(Project.project_id, Project.name).where(Project.workspace_id == workspace_id)
        ):
            entries.append(("project", project_id, name))
        for account_id, name, kind in conn.execute(
            select(Account.account_id, Account.name, Account.kind).where(
                Account.workspace_id == workspace_id
            )
        ):
            entries.append(("partner" if kind == "partner" else "account", account_id, name))
        if users:
            for user_id, name in conn.execute(
                select(User.user_id, User.name).where(User.workspace_id == workspace_id)
            ):
                entries.append(("user", user_id, name))
        for member_id, name in conn.execute(
            select(TeamMember.member_id, TeamMember.name).where(
                TeamMember.workspace_id == workspace_id
            )
        ):
            entries.append(("member", member_id, name))
        for (playbook,) in conn.execute(
            select(Project.playbook)
            .where(Project.workspace_id == workspace_id, Project.playbook.is_not(None))
            .distinct()
        ):
            entries.append(("playbook", playbook, playbook))
        roles = conn.execute(
            select(User.role)
            .where(User.workspace_id == workspace_id, User.role.is_not(None))
            .distinct()
        ).scalars()
        emails: dict[str, str] = {}
        for model in (User, TeamMember):
            for email, name in conn.execute(
                select(model.email, model.name).where(
                    model.workspace_id == workspace_id, model.email.is_not(None)
                )
            ):
                emails[email] = name
        return cls(entries, tuple(sorted(r for r in roles if r)), emails)

    def find(self, question: str) -> list[Mention]:
        """Entity mentions in ``question``, longest first, not overlapping; a person named
        by e-mail is found by name, and an account followed or preceded by the words of one
        of its projects' phases ("the Dunmore Capital phase 2 expansion") is that project."""
        question = _EMAIL.sub(lambda m: self.emails.get(m.group(0).lower(), m.group(0)), question)
        words = _words(question)
        found: list[tuple[int, int, bool, Mention]] = []
        for i, word in enumerate(words):
            if word in _STOP:
                continue
            for name_words, kind, entity_id, name in self._by_first.get(word, ()):
                matched = 0
                while (
                    matched < len(name_words)
                    and i + matched < len(words)
                    and (
                        words[i + matched] == name_words[matched]
                        or (matched > 0 and _like(words[i + matched], name_words[matched]))
                    )
                ):
                    matched += 1
                full = matched == len(name_words)
                partial_ok = (
                    kind in ("project", "account", "partner")
                    and len(word) >= 4
                    and word not in self._common
                ) or (kind == "member" and matched >= 1)
                if full or partial_ok:
                    text = " ".join(words[i : i + matched])
                    mention = Mention(kind, entity_id, name, text, full, i, i + matched)
                    # a bare "Café Mañana" is the account before any of its projects
                    found.append((-matched, -int(full), kind == "project", mention))
        found += self._misspelt(words, {m.start for *_, m in found})
        found = [f for f in found if f[3].kind != "playbook" or _a_playbook(f[3], words)]
        found.sort(key=lambda f: (f[0], f[1], f[2], f[3].start))
        taken: list[Mention] = []
        for *_, mention in found:
            apart = all(mention.end <= m.start or mention.start >= m.end for m in taken)
            namesake = mention.full and any(
                m.full and (m.start, m.end) == (mention.start, mention.end) for m in taken
            )
            if apart or namesake:
                taken.append(mention)
        return [self._phase(m, words, taken) for m in taken]

    def unknown_project(self, question: str, mentions: list[Mention]) -> str | None:
        """ "The Thornbury Foods mobile pilot" when Thornbury Foods has no such project: the
        account followed by words that end in a project noun and name none of its phases."""
        words = _words(question)
        for mention in mentions:
            if mention.kind not in ("account", "partner"):
                continue
            after = words[mention.end : mention.end + 4]
            for n in range(1, len(after) + 1):
                if after[n - 1] in _PROJECT_NOUNS and n > 1:
                    return f"{mention.name} {' '.join(after[:n])}"
        return None

    def _phase(self, mention: Mention, words: list[str], taken: list[Mention]) -> Mention:
        """The project of ``mention``'s account whose phase the question's other words name
        (most of its distinctive words; one project only), else ``mention`` itself."""
        if mention.kind not in ("account", "partner"):
            return mention
        covered = {i for m in taken for i in range(m.start, m.end)}
        rest = {w for i, w in enumerate(words) if i not in covered}
        scored = sorted(
            ((len(phase & rest), len(phase), entity_id, name)
             for phase, entity_id, name in self._phases.get(fold(mention.name), ())),
            reverse=True,
        )  # fmt: skip
        if not scored or scored[0][0] == 0:
            return mention
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            return mention  # two phases named alike: the account, not a guess
        _, _, entity_id, name = scored[0]
        return Mention("project", entity_id, name, mention.text, True, mention.start, mention.end)

    def sibling(self, question: str, project: str) -> Mention | None:
        """Another project of ``project``'s account named by its phase alone ("and the
        reporting workspace one?" after a question about its support desk rollout)."""
        if " — " not in project:
            return None
        account = project.split(" — ", 1)[0]
        words = set(_words(question))
        scored = sorted(
            ((len(phase & words), len(phase), entity_id, name)
             for phase, entity_id, name in self._phases.get(fold(account), ())
             if name != project),
            reverse=True,
        )  # fmt: skip
        if not scored or scored[0][0] == 0 or scored[0][0] < scored[0][1] / 2:
            return None  # no phase named, or too few of its words
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            return None  # two phases named alike: not a guess
        _, _, entity_id, name = scored[0]
        return Mention("project", entity_id, name, name, True, 0, 0)

    def _misspelt(
        self, words: list[str], matched: set[int]
    ) -> list[tuple[int, int, bool, Mention]]:
        """Names written with a typo or a missing letter ("Rosewod Retail", "granit peak"):
        every word of the name close to the question's words in order, or, for a
        distinctive first word that is no vocabulary word, that word alone."""
        out: list[tuple[int, int, bool, Mention]] = []
        known = _known_words()
        for i, word in enumerate(words):
            if i in matched or word in _STOP or len(word) < 4 or word in self._by_first:
                continue
            for first in difflib.get_close_matches(word, self._firsts, n=3, cutoff=FUZZY):
                for name_words, kind, entity_id, name in self._by_first[first]:
                    span = words[i : i + len(name_words)]
                    full = len(span) == len(name_words) and all(
                        _like(a, b) for a, b in zip(span, name_words, strict=True)
                    )
                    owners = {e for _, k, e, _ in self._by_first[first] if k != "project"}
                    alone = (
                        kind in ("account", "partner")
                        and len(owners) == 1
                        and len(word) >= 5
                        and word not in known
                    )
                    if (full and len(name_words) >= 2) or alone:
                        size = len(name_words) if full else 1
                        text = " ".join(words[i : i + size])
                        mention = Mention(kind, entity_id, name, text, True, i, i + size)
                        out.append((-size, -1, False, mention))
        return out

    def correct(self, question: str) -> str:
        """``question`` with misspelt lowercase words written as the vocabulary's ("numbr
        of logns" → "number of logins"); a word close to a name's word is left alone (it
        may be a misspelt name), and so is anything capitalised."""
        known = _known_words() | {fold(r) for r in self.roles} | {f"{fold(r)}s" for r in self.roles}
        names = self._name_words()
        choices = sorted(known)  # once per question, not once per word

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            if len(word) < 4 or word in known or word in names:
                return word
            if OUT_OF_SCOPE_TERMS.fullmatch(word):
                return word  # "contract" is no misspelt "contacts": it is out of scope
            if any(word.endswith(end) and word[: -len(end)] in known for end in _ENDINGS):
                return word  # an inflection of a known word ("closed", "logging")
            if difflib.get_close_matches(word, names, n=1, cutoff=FUZZY):
                return word
            close = difflib.get_close_matches(word, choices, n=1, cutoff=0.85)
            if close and close[0][0] == word[0] and abs(len(close[0]) - len(word)) <= 2:
                return close[0]
            return word

        return re.sub(r"\b[a-z]+\b", fix, question)

    def _name_words(self) -> list[str]:
        if self._names is None:
            self._names = sorted({w for _, _, name in self.entries for w in _words(name)})
        return self._names

    def shared_first_name(self, question: str, mentions: list[Mention]) -> str | None:
        """A first name that several users share, written alone ("when did Umar last sign
        in?"): capitalised, or the whole of a short follow-up ("and umar?"); a team
        member's first name is the member's."""
        words = _words(question)
        covered = {i for m in mentions for i in range(m.start, m.end)}
        short = len(words) <= 4
        for i, word in enumerate(words):
            if i in covered or word in _STOP or self._user_firsts.get(word, 0) < 2:
                continue
            if word in self._member_firsts:
                continue
            if short or re.search(rf"\b{re.escape(word.capitalize())}\b", strip_accents(question)):
                return word.capitalize()
        return None

    def ambiguous(self, question: str, mentions: list[Mention]) -> str | None:
        """Words of ``question`` that begin the names of two or more accounts or partners
        (or, when the question says "project", of two or more projects) and that no full
        mention covers: "how is Juniper doing?" with three Juniper accounts. Such a name
        must be asked about, never silently resolved to one of them."""
        words = _words(question)
        covered = {i for m in mentions if m.full for i in range(m.start, m.end)}
        wants_project = bool({"project", "projects"} & set(words))
        for i, word in enumerate(words):
            if word in _STOP or len(word) < 4 or i in covered:
                continue
            matched: list[tuple[int, str, str]] = []
            for name_words, kind, entity_id, _name in self._by_first.get(word, ()):
                if kind not in ("project", "account", "partner"):
                    continue
                n = 0
                while n < len(name_words) and i + n < len(words) and words[i + n] == name_words[n]:
                    n += 1
                matched.append((n, kind, entity_id))
            if not matched:
                continue
            longest = max(n for n, _, _ in matched)
            top = [(kind, entity_id) for n, kind, entity_id in matched if n == longest]
            accounts = {e for k, e in top if k in ("account", "partner")}
            projects = {e for k, e in top if k == "project"}
            if len(accounts) >= 2 or (wants_project and len(projects) >= 2):
                return " ".join(words[i : i + longest])
        return None


def entity_names(conn: Connection, workspace_id: int) -> list[EntityName]:
    """Names worth embedding for semantic resolution: all but users (too many, too plain)."""
    index = EntityIndex.load(conn, workspace_id, users=False)
    return [EntityName(entity_id=i, name=n, kind=k) for k, i, n in index.entries if k != "playbook"]


class EntityIndexCache:
    """One index per workspace, rebuilt after ``CACHE_SECONDS`` so imports show up."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = Lock()
        self._cached: dict[int, tuple[float, EntityIndex]] = {}

    def get(self, workspace_id: int) -> EntityIndex:
        with self._lock:
            hit = self._cached.get(workspace_id)
            if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
                return hit[1]
        with self.engine.connect() as conn:
            index = EntityIndex.load(conn, workspace_id)
        with self._lock:
            self._cached[workspace_id] = (time.monotonic(), index)
        return index

    def forget(self, workspace_id: int) -> None:
        """Drop ``workspace_id``'s index: names just written over the API show up at once."""
        with self._lock:
            self._cached.pop(workspace_id, None)
