"""The seeded demo-data generator (metrics.demo) against the SPEC §2 contract and §4 patterns.

Checked with plain CSV reading, independently of the storage layer.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from metrics.demo import DemoSummary, generate_demo

AS_OF = date(2026, 3, 15)
NOW = datetime(2026, 3, 16, tzinfo=UTC)
EVENTS = 5000
SEEDS = (7, 1, 2026)

SPEC_HEADERS = {
    "team_members.csv": ["member_id", "name", "email"],
    "accounts.csv": ["account_id", "name", "kind", "partner_type", "owner_id"],
    "projects.csv": [
        "project_id",
        "account_id",
        "name",
        "owner_id",
        "status",
        "playbook",
        "started_on",
        "target_live_on",
    ],
    "users.csv": ["user_id", "account_id", "name", "email", "role"],
    "invites.csv": ["invite_id", "user_id", "project_id", "sent_at"],
    "events.csv": [
        "event_id",
        "user_id",
        "project_id",
        "occurred_at",
        "type",
        "action",
        "room_id",
        "resource_id",
        "device",
    ],
    "tasks.csv": [
        "task_id",
        "project_id",
        "title",
        "assignee_user_id",
        "due_on",
        "completed_at",
        "created_at",
    ],
    "rooms.csv": ["room_id", "name"],
    "resources.csv": ["resource_id", "title", "kind"],
    "tickets.csv": ["ticket_id", "user_id", "created_at", "resolution"],
}
ACTIONS = {
    "video_play",
    "file_download",
    "link_click",
    "image_view",
    "pdf_open",
    "card_view",
    "goal_complete",
    "search",
}
STATUSES = {"not_started", "in_progress", "on_hold", "live", "cancelled"}
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def ts(text: str) -> datetime:
    assert TS.match(text), text
    return datetime.fromisoformat(text)


@dataclass
class Demo:
    folder: Path
    summary: DemoSummary
    rows: dict[str, list[dict[str, str]]]

    def __getitem__(self, name: str) -> list[dict[str, str]]:
        return self.rows[name]


def load(folder: Path, summary: DemoSummary) -> Demo:
    rows = {}
    for name in SPEC_HEADERS:
        with (folder / name).open(encoding="utf-8", newline="") as handle:
            rows[name] = list(csv.DictReader(handle))
    return Demo(folder, summary, rows)


@dataclass
class Visit:
    user_id: str
    project_id: str
    start: datetime
    end: datetime
    device: str


def sessions(events: list[dict[str, str]]) -> list[Visit]:
    """SPEC §4.1: 30-minute idle gap, 4-hour cap, per (user_id, project_id)."""
    by_key: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for e in events:
        by_key[e["user_id"], e["project_id"]].append((ts(e["occurred_at"]), e["device"]))
    out = []
    for (user, project), items in by_key.items():
        items.sort()
        current: Visit | None = None
        for at, device in items:
            if (
                current
                and at - current.end <= timedelta(minutes=30)
                and at - current.start < timedelta(hours=4)
            ):
                current.end = at
                continue
            current = Visit(user, project, at, at, device)
            out.append(current)
    return out


@pytest.fixture(scope="module", params=SEEDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp(f"demo{request.param}")
    summary = generate_demo(folder, seed=request.param, as_of=AS_OF, events=EVENTS)
    return load(folder, summary)


@pytest.fixture(scope="module")
def visits(demo: Demo) -> list[Visit]:
    return sessions(demo["events.csv"])


# -- contract ------------------------------------------------------------------------


def test_every_file_with_spec_header(demo: Demo) -> None:
    for name, header in SPEC_HEADERS.items():
        with (demo.folder / name).open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == header, name
        assert demo.summary.counts[name] == len(demo[name]), name
    assert set(demo.summary.counts) == set(SPEC_HEADERS)
    assert demo.summary.as_of == AS_OF


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", seed=3, as_of=AS_OF, events=2000).folder
    again = generate_demo(tmp_path / "b", seed=3, as_of=AS_OF, events=2000).folder
    other = generate_demo(tmp_path / "c", seed=4, as_of=AS_OF, events=2000).folder
    for name in SPEC_HEADERS:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    assert (first / "events.csv").read_bytes() != (other / "events.csv").read_bytes()
    assert (first / "accounts.csv").read_bytes() != (other / "accounts.csv").read_bytes()


def test_event_count_matches_target(demo: Demo) -> None:
    assert abs(len(demo["events.csv"]) - EVENTS) <= EVENTS * 0.02


def test_progress_reports_every_event(tmp_path: Path) -> None:
    calls: list[int] = []
    summary = generate_demo(tmp_path, as_of=AS_OF, events=25_000, progress=calls.append)
    assert sum(calls) == summary.counts["events.csv"]
    assert len(calls) >= 3
    assert max(calls) <= 11_000


def test_unique_ids(demo: Demo) -> None:
    for name, header in SPEC_HEADERS.items():
        ids = [row[header[0]] for row in demo[name]]
        assert len(ids) == len(set(ids)), name
        assert all(re.match(r"^[a-z]+_\d+$", i) for i in ids), name


def test_every_reference_resolves(demo: Demo) -> None:
    def ids(name: str, column: str) -> set[str]:
        return {row[column] for row in demo[name]}

    members, accounts = ids("team_members.csv", "member_id"), ids("accounts.csv", "account_id")
    projects, users = ids("projects.csv", "project_id"), ids("users.csv", "user_id")
    rooms, resources = ids("rooms.csv", "room_id"), ids("resources.csv", "resource_id")
    assert {a["owner_id"] for a in demo["accounts.csv"]} <= members
    assert {p["owner_id"] for p in demo["projects.csv"]} <= members
    assert {p["account_id"] for p in demo["projects.csv"]} <= accounts
    assert {u["account_id"] for u in demo["users.csv"]} <= accounts
    for name in ("invites.csv", "events.csv"):
        assert {r["user_id"] for r in demo[name]} <= users
        assert {r["project_id"] for r in demo[name]} <= projects | {""}
    assert {e["room_id"] for e in demo["events.csv"]} <= rooms | {""}
    assert {e["resource_id"] for e in demo["events.csv"]} <= resources | {""}
    assert {t["project_id"] for t in demo["tasks.csv"]} <= projects
    assert {t["assignee_user_id"] for t in demo["tasks.csv"]} <= users | {""}
    assert {t["user_id"] for t in demo["tickets.csv"]} <= users


def test_portals_match_accounts(demo: Demo) -> None:
    """Users only use their own account's projects, or the partner portal of a partner."""
    kind = {a["account_id"]: a["kind"] for a in demo["accounts.csv"]}
    account_of_user = {u["user_id"]: u["account_id"] for u in demo["users.csv"]}
    account_of_project = {p["project_id"]: p["account_id"] for p in demo["projects.csv"]}
    assert all(kind[a] == "customer" for a in account_of_project.values())
    for name in ("invites.csv", "events.csv"):
        for row in demo[name]:
            account = account_of_user[row["user_id"]]
            if row["project_id"]:
                assert account_of_project[row["project_id"]] == account
            else:
                assert kind[account] == "partner"
    for task in demo["tasks.csv"]:
        if task["assignee_user_id"]:
            user_account = account_of_user[task["assignee_user_id"]]
            assert user_account == account_of_project[task["project_id"]]


def test_enums_and_formats(demo: Demo) -> None:
    for a in demo["accounts.csv"]:
        assert a["kind"] in {"customer", "partner"}
        expected = {"referral", "reseller"} if a["kind"] == "partner" else {""}
        assert a["partner_type"] in expected
    assert {a["partner_type"] for a in demo["accounts.csv"]} == {"", "referral", "reseller"}
    for p in demo["projects.csv"]:
        assert p["status"] in STATUSES
        for column in ("started_on", "target_live_on"):
            assert p[column] == "" or DAY_RE.match(p[column])
    assert {p["status"] for p in demo["projects.csv"]} == STATUSES
    for e in demo["events.csv"]:
        assert e["type"] in {"login", "page_view", "action"}
        assert (e["action"] in ACTIONS) if e["type"] == "action" else e["action"] == ""
        assert e["device"] in {"desktop", "mobile", "tablet"}
        ts(e["occurred_at"])
    assert {e["action"] for e in demo["events.csv"]} >= ACTIONS
    for t in demo["tasks.csv"]:
        assert t["due_on"] == "" or DAY_RE.match(t["due_on"])
    assert {t["resolution"] for t in demo["tickets.csv"]} == {"self_service", "agent", ""}


def test_nothing_after_now(demo: Demo) -> None:
    first = NOW - timedelta(days=400)
    for name, column in (
        ("events.csv", "occurred_at"),
        ("invites.csv", "sent_at"),
        ("tickets.csv", "created_at"),
        ("tasks.csv", "created_at"),
    ):
        for row in demo[name]:
            assert first <= ts(row[column]) < NOW, (name, row)
    for t in demo["tasks.csv"]:
        if t["completed_at"]:
            assert ts(t["created_at"]) < ts(t["completed_at"]) < NOW


def test_events_follow_an_invite_and_start_with_login(demo: Demo, visits: list[Visit]) -> None:
    invited: dict[tuple[str, str], datetime] = {}
    for i in demo["invites.csv"]:
        key, sent = (i["user_id"], i["project_id"]), ts(i["sent_at"])
        invited[key] = min(sent, invited.get(key, sent))
    first_login: dict[tuple[str, str], datetime] = {}
    for e in demo["events.csv"]:
        key, at = (e["user_id"], e["project_id"]), ts(e["occurred_at"])
        assert key in invited and invited[key] <= at, e
        if e["type"] == "login":
            first_login[key] = min(at, first_login.get(key, at))
    for v in visits:  # nobody uses a portal before logging in to it
        assert first_login[v.user_id, v.project_id] <= v.start


def test_history_spans_a_year_mostly_recent(demo: Demo) -> None:
    times = [ts(e["occurred_at"]) for e in demo["events.csv"]]
    recent = sum(t >= NOW - timedelta(days=122) for t in times)
    assert recent / len(times) > 0.5
    assert min(times) < NOW - timedelta(days=270)
    assert sum(t >= NOW - timedelta(days=30) for t in times) > 0.1 * len(times)
    assert any(t.date() >= AS_OF.replace(day=1) for t in times)  # this month


# -- patterns of SPEC §4 -------------------------------------------------------------


def test_sizes_look_like_a_book_of_business(demo: Demo) -> None:
    kinds = [a["kind"] for a in demo["accounts.csv"]]
    assert kinds.count("customer") >= 35 and kinds.count("partner") >= 10
    assert len(demo["projects.csv"]) >= 50
    assert len(demo["team_members.csv"]) >= 5
    assert any(m["email"] == "" for m in demo["team_members.csv"])
    assert any(u["email"] == "" for u in demo["users.csv"])
    per_account = defaultdict(int)
    for u in demo["users.csv"]:
        per_account[u["account_id"]] += 1
    assert min(per_account.values()) >= 3 and max(per_account.values()) <= 15
    assert {p["playbook"] for p in demo["projects.csv"]} >= {"Enterprise onboarding", "Migration"}
    assert len(demo["rooms.csv"]) >= 10 and len(demo["resources.csv"]) >= 30


def test_invited_users_who_never_logged_in(demo: Demo) -> None:
    events = demo["events.csv"]
    logged_in = {(e["user_id"], e["project_id"]) for e in events if e["type"] == "login"}
    users_in = {user for user, _ in logged_in}
    invited = {(i["user_id"], i["project_id"]) for i in demo["invites.csv"]}
    assert len({user for user, _ in invited} - users_in) >= 3
    per_project: dict[str, list[bool]] = defaultdict(list)
    for user, project in invited:
        if project:
            per_project[project].append((user, project) in logged_in)
    low = [p for p, seen in per_project.items() if len(seen) >= 3 and sum(seen) / len(seen) < 0.5]
    assert len(low) >= 2


def test_inactive_in_progress_projects(demo: Demo, visits: list[Visit]) -> None:
    recent = {v.project_id for v in visits if v.start >= NOW - timedelta(days=14)}
    earlier = {v.project_id for v in visits}
    in_progress = [p["project_id"] for p in demo["projects.csv"] if p["status"] == "in_progress"]
    inactive = [p for p in in_progress if p not in recent]
    assert len(inactive) >= 2
    assert any(p in earlier for p in inactive)  # they were used before
    assert len(inactive) < len(in_progress) / 2


def test_dormant_partners(demo: Demo, visits: list[Visit]) -> None:
    account_of_user = {u["user_id"]: u["account_id"] for u in demo["users.csv"]}
    partners = {a["account_id"] for a in demo["accounts.csv"] if a["kind"] == "partner"}
    recent = {account_of_user[v.user_id] for v in visits if v.start >= NOW - timedelta(days=30)}
    ever = {account_of_user[v.user_id] for v in visits if v.project_id == ""}
    dormant = partners - recent
    assert len(dormant) >= 2 and dormant & ever
    assert len(partners & recent) >= len(partners) / 2


def test_drifting_and_engaged_users(demo: Demo, visits: list[Visit]) -> None:
    last_14 = NOW - timedelta(days=14)
    by_user: dict[str, list[Visit]] = defaultdict(list)
    for v in visits:
        by_user[v.user_id].append(v)
    drifting = [u for u, vs in by_user.items() if len(vs) >= 2 and max(v.end for v in vs) < last_14]
    assert len(drifting) >= 5
    counts = defaultdict(int)
    for e in demo["events.csv"]:
        if ts(e["occurred_at"]) >= NOW - timedelta(days=30):
            counts[e["user_id"]] += 1
    engaged = [
        u
        for u, vs in by_user.items()
        if sum(v.start >= NOW - timedelta(days=30) for v in vs) >= 3 and counts[u] >= 15
    ]
    assert len(engaged) >= 5


def test_task_patterns(demo: Demo) -> None:
    open_unassigned: dict[str, int] = defaultdict(int)
    overdue: dict[str, int] = defaultdict(int)
    for t in demo["tasks.csv"]:
        if t["completed_at"]:
            continue
        if not t["assignee_user_id"]:
            open_unassigned[t["project_id"]] += 1
        elif t["due_on"] and t["due_on"] <= AS_OF.isoformat():  # due on as_of is overdue at its end
            overdue[t["project_id"]] += 1
    assert max(open_unassigned.values()) > 10
    assert len(overdue) >= 2
    assert len(overdue) < len(demo["projects.csv"]) / 2
    assert any(t["completed_at"] for t in demo["tasks.csv"])


def _portal_of(demo: Demo) -> dict[tuple[str, str], str]:
    """(user_id, project_id) -> portal name: the project id, or the partner's account id."""
    account_of_user = {u["user_id"]: u["account_id"] for u in demo["users.csv"]}
    return {
        (e["user_id"], e["project_id"]): e["project_id"] or account_of_user[e["user_id"]]
        for e in demo["events.csv"]
    }


def test_declining_durations(demo: Demo, visits: list[Visit]) -> None:
    portal_of = _portal_of(demo)
    last, before = defaultdict(list), defaultdict(list)
    for v in visits:
        seconds = (v.end - v.start).total_seconds()
        if v.start >= NOW - timedelta(days=14):
            last[portal_of[v.user_id, v.project_id]].append(seconds)
        elif v.start >= NOW - timedelta(days=28):
            before[portal_of[v.user_id, v.project_id]].append(seconds)
    declining = [
        p
        for p in last
        if before.get(p) and sum(last[p]) / len(last[p]) < 0.5 * sum(before[p]) / len(before[p])
    ]
    assert any(p.startswith("prj_") for p in declining)
    assert any(p.startswith("acc_") for p in declining)


def test_visits_without_actions(demo: Demo, visits: list[Visit]) -> None:
    portal_of = _portal_of(demo)
    start = NOW - timedelta(days=30)
    visited = {portal_of[v.user_id, v.project_id] for v in visits if v.start >= start}
    acted = {
        portal_of[e["user_id"], e["project_id"]]
        for e in demo["events.csv"]
        if e["type"] == "action" and ts(e["occurred_at"]) >= start
    }
    quiet = visited - acted
    assert any(p.startswith("prj_") for p in quiet)
    assert any(p.startswith("acc_") for p in quiet)


def test_devices(visits: list[Visit]) -> None:
    mobile = sum(v.device == "mobile" for v in visits) / len(visits)
    assert 0.10 <= mobile <= 0.40
    assert any(v.device == "tablet" for v in visits)
    assert sum(v.device == "desktop" for v in visits) > len(visits) / 2


def test_sessions_have_several_events_and_breaks(demo: Demo, visits: list[Visit]) -> None:
    logins = sum(e["type"] == "login" for e in demo["events.csv"])
    assert len(demo["events.csv"]) / logins > 3  # multi-event sessions
    assert len(visits) > logins  # some breaks of more than 30 minutes continue a visit


def test_small_and_empty_targets(tmp_path: Path) -> None:
    empty = generate_demo(tmp_path / "zero", as_of=AS_OF, events=0)
    assert empty.counts["events.csv"] == 0
    tiny = generate_demo(tmp_path / "tiny", as_of=AS_OF, events=37)
    assert tiny.counts["events.csv"] == 37
