"""The book of business behind the demo data (:mod:`metrics.demo`).

Builds team, accounts, projects, users, invites, rooms and resources (tasks
are in :mod:`metrics.demo.tasks`), plus one activity *stream* per invited
(user, portal) pair that :mod:`metrics.demo.events` turns into sessions. The
risk patterns of SPEC §4.9 are planted here as portal traits (inactive,
declining, no actions, low conversion, overdue, unassigned) so that each one
is present in every generated data set, whatever the seed.

All instants are integer seconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from random import Random

from metrics.demo import names

DAY = 86_400
ARCHETYPES = ("never", "occasional", "regular", "engaged", "drifting")
ARCHETYPE_WEIGHTS = (10, 25, 35, 15, 15)
STATUS_SHARES = (("live", 0.30), ("on_hold", 0.10), ("not_started", 0.10), ("cancelled", 0.10))
PLAYBOOK_WEIGHTS = (35, 30, 20, 15)
PLAYBOOK_DAYS = {
    "Enterprise onboarding": (90, 150),
    "SMB quickstart": (25, 45),
    "Migration": (60, 120),
    "Integration setup": (45, 90),
}


def iso_ts(t: int) -> str:
    """``2026-03-04T10:15:30Z`` for epoch seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def iso_day(t: int) -> str:
    """``2026-03-04`` for epoch seconds."""
    return time.strftime("%Y-%m-%d", time.gmtime(t))


@dataclass(slots=True)
class Portal:
    """A project, or a partner account's partner portal (``project_id == ""``)."""

    project_id: str
    account_id: str
    status: str  # project status, or "partner"
    start: int | None  # project start / partner join; None for not_started projects
    hi: int  # no event of this portal after this instant
    activity: float
    playbook: str = ""
    target: int | None = None  # planned go-live
    traits: set[str] = field(default_factory=set)
    invited: list[str] = field(default_factory=list)  # user ids, invite order


@dataclass(slots=True)
class Stream:
    """The activity of one invited user in one portal."""

    user_id: str
    portal: Portal
    kind: str  # archetype
    lo: int  # first possible event (after the invite)
    hi: int  # last possible event
    device: str  # preferred device
    budget: int = 0
    anchored: bool = False  # gets the planted long-then-short sessions


@dataclass
class World:
    """The book of business; ``tables`` holds the rows of the small CSV files (not tasks)."""

    now: int
    tables: dict[str, list[tuple[str, ...]]]
    projects: list[Portal]
    streams: list[Stream]
    never_invited: list[tuple[str, int]]  # (user_id, first invite) of users never logging in
    rooms: dict[str, list[str]]  # "customer"/"partner" -> room ids
    resources: dict[str, list[tuple[str, str]]]  # "customer"/"partner" -> (id, kind)


def sizes(events: int) -> dict[str, int]:
    """Entity counts for a target number of events (the book grows with the events)."""
    customers = max(40, round(events / 5500))
    partners = max(12, round(customers * 0.3))
    return {
        "customers": customers,
        "partners": partners,
        "projects": round(customers * 1.5),
        "team": max(6, round((customers + partners) / 45)),
    }


def ids(prefix: str, count: int, width: int) -> list[str]:
    """``prefix_0001``-style ids, wide enough for ``count``."""
    width = max(width, len(str(count)))
    return [f"{prefix}_{i:0{width}d}" for i in range(1, count + 1)]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def unique_names(rng: Random, parts: tuple[tuple[str, ...], ...], count: int) -> list[str]:
    """``count`` distinct names combining one item of each part; numbered when exhausted."""
    combos = [" ".join(p) for p in itertools.product(*parts)]
    rng.shuffle(combos)
    return [
        combos[i % len(combos)] + (f" {i // len(combos) + 1}" if i >= len(combos) else "")
        for i in range(count)
    ]


def people(rng: Random, count: int) -> list[str]:
    """``count`` distinct "First Last" names (few, so drawing beats shuffling all pairs)."""
    chosen: dict[str, None] = {}
    while len(chosen) < count:
        chosen[f"{rng.choice(names.FIRST_NAMES)} {rng.choice(names.LAST_NAMES)}"] = None
    return list(chosen)


class _Builder:
    def __init__(self, rng: Random, now: int, events: int) -> None:
        self.rng = rng
        self.now = now
        self.size = sizes(events)
        self.tables: dict[str, list[tuple[str, ...]]] = {}
        self.streams: list[Stream] = []
        self.never_invited: list[tuple[str, int]] = []
        self.invites: list[tuple[str, str, int]] = []  # (user_id, project_id, sent_at)
        self.names: dict[str, str] = {}  # account id -> name

    def days_ago(self, low: float, high: float) -> int:
        """An instant between ``high`` and ``low`` days before now."""
        return self.now - int(self.rng.uniform(low, high) * DAY)

    def pick(self, n: int, share: float, minimum: int) -> int:
        return max(minimum, round(n * share))

    # -- team and accounts -------------------------------------------------

    def team(self) -> list[str]:
        rng, n = self.rng, self.size["team"]
        member_ids = ids("tm", n, 2)
        rows = []
        for i, (mid, person) in enumerate(zip(member_ids, people(rng, n), strict=True)):
            email = f"{slug(person).replace('-', '.')}@{names.TEAM_EMAIL_DOMAIN}"
            rows.append((mid, person, email if i % 3 != 2 else ""))
        self.tables["team_members.csv"] = rows
        return member_ids

    def accounts(self, team: list[str]) -> tuple[list[tuple[str, str, str]], list[str]]:
        """Rows of accounts.csv; returns (customers as (id, name, owner), partner ids)."""
        rng, size = self.rng, self.size
        n_c, n_p = size["customers"], size["partners"]
        c_names = unique_names(rng, (names.COMPANY_PREFIXES, names.COMPANY_SUFFIXES), n_c)
        p_names = unique_names(rng, (names.COMPANY_PREFIXES, names.PARTNER_SUFFIXES), n_p)
        account_ids = ids("acc", n_c + n_p, 3)
        types = [("referral", "reseller")[i % 2] for i in range(n_p)]
        rng.shuffle(types)
        rows, customers = [], []
        for i, name in enumerate(c_names + p_names):
            aid, owner = account_ids[i], team[rng.randrange(len(team))]
            if i < n_c:
                customers.append((aid, name, owner))
                rows.append((aid, name, "customer", "", owner))
            else:
                rows.append((aid, name, "partner", types[i - n_c], owner))
        self.tables["accounts.csv"] = rows
        self.names = {aid: name for aid, name, *_ in rows}
        return customers, account_ids[n_c:]

    # -- users -----------------------------------------------------------

    def users(self, account_ids: list[str], partner: set[str]) -> dict[str, list[tuple]]:
        """users.csv; returns account id -> [(user id, archetype, device, invitable)]."""
        rng = self.rng
        counts = [rng.randint(3, 10 if a in partner else 15) for a in account_ids]
        user_ids = iter(ids("usr", sum(counts), 5))
        rows, by_account = [], {}
        for aid, count in zip(account_ids, counts, strict=True):
            domain = slug(self.names[aid]) + ".example"
            members = []
            for i, person in enumerate(people(rng, count)):
                uid = next(user_ids)
                email = f"{slug(person).replace('-', '.')}@{domain}" if rng.random() < 0.85 else ""
                role = "admin" if i == 0 else rng.choices(names.ROLES, (10, 60, 30))[0]
                rows.append((uid, aid, person, email, role))
                kind = rng.choices(ARCHETYPES, ARCHETYPE_WEIGHTS)[0]
                device = rng.choices(("desktop", "mobile", "tablet"), (66, 28, 6))[0]
                members.append((uid, kind, device, i < 3 or rng.random() < 0.93))
            by_account[aid] = members
        self.tables["users.csv"] = rows
        return by_account

    # -- projects --------------------------------------------------------

    def statuses(self, n: int) -> list[str]:
        out = [s for s, share in STATUS_SHARES for _ in range(max(1, round(n * share)))]
        out += ["in_progress"] * (n - len(out))
        self.rng.shuffle(out)
        return out

    def plant(self, portals: list[Portal], plan: tuple[tuple[str, float, int], ...]) -> None:
        """Give disjoint slices of ``portals`` (shuffled) the traits of ``plan``."""
        pool = portals[:]
        self.rng.shuffle(pool)
        at = 0
        for trait, share, minimum in plan:
            for portal in pool[at : at + self.pick(len(pool), share, minimum)]:
                portal.traits.add(trait)
                at += 1

    def project_dates(self, status: str, traits: set[str]) -> tuple[int | None, int]:
        """(start, hi) of a project of this status."""
        now, rng = self.now, self.rng
        if status == "not_started":
            return None, now - 1
        if status == "in_progress":
            if "inactive" in traits:
                start = self.days_ago(50, 160)
                return start, now - int(rng.uniform(15, min(45, (now - start) / DAY - 10)) * DAY)
            low = 45 if "declining" in traits else 10
            return now - int((low + (150 - low) * rng.random() ** 1.5) * DAY), now - 1
        if status == "live":
            return self.days_ago(120, 380), now - 1
        if status == "on_hold":
            start = self.days_ago(60, 300)
            return start, now - int(rng.uniform(20, min(90, (now - start) / DAY - 30)) * DAY)
        start = self.days_ago(120, 380)  # cancelled
        return start, min(start + int(rng.uniform(20, 100) * DAY), now - 14 * DAY)

    def projects(self, customers: list[tuple[str, str, str]], team: list[str]) -> list[Portal]:
        rng, n = self.rng, self.size["projects"]
        order = {c[0]: i for i, c in enumerate(customers)}
        extra = [customers[rng.randrange(len(customers))] for _ in range(n - len(customers))]
        owners = sorted(customers + extra, key=lambda c: order[c[0]])
        project_ids = ids("prj", n, 4)
        portals = [
            Portal(pid, aid, status, None, 0, rng.uniform(0.5, 1.5))
            for pid, (aid, _, _), status in zip(project_ids, owners, self.statuses(n), strict=True)
        ]
        in_progress = [p for p in portals if p.status == "in_progress"]
        self.plant(
            in_progress,
            (
                ("inactive", 0.12, 2),
                ("declining", 0.1, 2),
                ("no_actions", 0.1, 2),
                ("low_conversion", 0.1, 2),
            ),
        )
        self.plant(in_progress, (("unassigned", 0.07, 1),))
        for p in portals:
            if p.status in ("in_progress", "on_hold") and rng.random() < 0.4:
                p.traits.add("overdue")
        self.plant(in_progress, (("overdue", 0.05, 1),))
        topics: dict[str, list[str]] = {}
        rows = []
        for p, (aid, name, owner) in zip(portals, owners, strict=True):
            p.start, p.hi = self.project_dates(p.status, p.traits)
            if aid not in topics:
                topics[aid] = rng.sample(names.PROJECT_TOPICS, len(names.PROJECT_TOPICS))
            playbook = rng.choices(names.PLAYBOOKS, PLAYBOOK_WEIGHTS)[0]
            length = rng.randint(*PLAYBOOK_DAYS[playbook]) * DAY
            if p.start is None:
                started, target = "", iso_day(self.now + int(rng.uniform(30, 120)) * DAY)
            else:
                started, target = iso_day(p.start), iso_day(p.start + length)
                p.target = p.start + length
            owner_id = owner if rng.random() < 0.8 else team[rng.randrange(len(team))]
            title = f"{name} — {topics[aid].pop()}"
            rows.append((p.project_id, aid, title, owner_id, p.status, playbook, started, target))
            p.playbook = playbook
        self.tables["projects.csv"] = rows
        return portals

    def partner_portals(self, partner_ids: list[str]) -> list[Portal]:
        portals = [
            Portal("", aid, "partner", None, self.now - 1, self.rng.uniform(0.3, 1.7))
            for aid in partner_ids
        ]
        self.plant(portals, (("inactive", 0.25, 2), ("declining", 0.1, 2), ("no_actions", 0.1, 2)))
        for p in portals:
            if "inactive" in p.traits:  # dormant: nothing in the last 30 days
                p.start, p.hi = self.days_ago(160, 380), self.days_ago(31, 150)
            else:
                p.start = self.days_ago(60 if "declining" in p.traits else 30, 380)
        return portals

    # -- invites and streams ---------------------------------------------

    def invite_time(self, portal: Portal, lead: bool) -> int:
        rng, now = self.rng, self.now
        if portal.start is None:
            return self.days_ago(1, 20)
        if lead or rng.random() < 0.75:
            sent = portal.start + int(rng.uniform(0, 2 if not lead else 1) * DAY)
        else:
            sent = portal.start + int(rng.uniform(3, 60) * DAY)
        return min(sent, portal.hi - DAY, now - 3600)

    def stream_kind(self, portal: Portal, kind: str, index: int, invited: int) -> str:
        if portal.status == "not_started":
            return "never"
        if "low_conversion" in portal.traits:
            return "regular" if index < max(1, (invited - 1) // 3) else "never"
        if index == 0 and portal.traits & {"declining", "no_actions"}:
            return "engaged" if "declining" in portal.traits else "regular"
        return kind

    def invite_portal(self, portal: Portal, members: list[tuple], share: float) -> None:
        rng = self.rng
        chosen = [m for i, m in enumerate(members) if m[3] and (i < 3 or rng.random() < share)]
        for index, (uid, kind, device, _) in enumerate(chosen):
            sent = self.invite_time(portal, index == 0)
            portal.invited.append(uid)
            self.invites.append((uid, portal.project_id, sent))
            kind = self.stream_kind(portal, kind, index, len(chosen))
            if kind == "never":
                self.never_invited.append((uid, sent))
                reminder = sent + rng.randint(5, 14) * DAY
                if rng.random() < 0.35 and reminder < self.now:
                    self.invites.append((uid, portal.project_id, reminder))
                continue
            stream = Stream(uid, portal, kind, sent + 120, portal.hi, device)
            if kind == "drifting":
                stream.hi = min(portal.hi, self.days_ago(15, 75))
                if stream.hi < stream.lo + 14 * DAY:
                    stream.kind, stream.hi = "regular", portal.hi
            self.streams.append(stream)

    def write_invites(self) -> None:
        self.invites.sort(key=lambda row: row[2])
        invite_ids = ids("inv", len(self.invites), 6)
        self.tables["invites.csv"] = [
            (iid, uid, pid, iso_ts(sent))
            for iid, (uid, pid, sent) in zip(invite_ids, self.invites, strict=True)
        ]


def build_world(rng: Random, now: int, events: int) -> World:
    """The demo book of business for a target number of ``events`` ending at ``now``."""
    b = _Builder(rng, now, events)
    team = b.team()
    customers, partner_ids = b.accounts(team)
    account_ids = [c[0] for c in customers] + partner_ids
    members = b.users(account_ids, set(partner_ids))
    projects = b.projects(customers, team)
    for portal in projects:
        b.invite_portal(portal, members[portal.account_id], 0.85)
    for portal in b.partner_portals(partner_ids):
        b.invite_portal(portal, members[portal.account_id], 0.9)
    b.write_invites()
    rooms, resources = content(b.tables)
    return World(now, b.tables, projects, b.streams, b.never_invited, rooms, resources)


def content(tables: dict[str, list[tuple[str, ...]]]) -> tuple[dict, dict]:
    """rooms.csv and resources.csv; returns the room and resource ids per portal kind."""
    room_names = names.CUSTOMER_ROOMS + names.PARTNER_ROOMS
    room_ids = ids("room", len(room_names), 2)
    tables["rooms.csv"] = list(zip(room_ids, room_names, strict=True))
    titles = names.CUSTOMER_RESOURCES + names.PARTNER_RESOURCES
    res_ids = ids("res", len(titles), 3)
    tables["resources.csv"] = [(rid, t, k) for rid, (t, k) in zip(res_ids, titles, strict=True)]
    n_room, n_res = len(names.CUSTOMER_ROOMS), len(names.CUSTOMER_RESOURCES)
    resources = [(rid, kind) for rid, (_, kind) in zip(res_ids, titles, strict=True)]
    return (
        {"customer": room_ids[:n_room], "partner": room_ids[n_room:]},
        {"customer": resources[:n_res], "partner": resources[n_res:]},
    )
