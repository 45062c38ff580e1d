"""The declarations: every measure, dimension, filter, range, risk signal and table column.

This is the one place a name, its synonyms, its description, unit and format
are written. Read it as the product's vocabulary; ``docs/METRICS.md``'s
vocabulary section is generated from it (``scripts/build-metrics-doc``).
"""

from __future__ import annotations

from metrics.semantic.registry import (
    Column,
    Dimension,
    EventCount,
    Filter,
    InvitedUsers,
    Measure,
    Range,
    Registry,
    RiskLevel,
    RowCount,
    SessionAggregate,
    Signal,
    TaskState,
)

# -- the value sets of the data contract (SPEC §2); metrics/ingest/contract.py uses these ----
ACCOUNT_KINDS = ("customer", "partner")
PARTNER_TYPES = ("referral", "reseller")
PROJECT_STATUSES = ("not_started", "in_progress", "on_hold", "live", "cancelled")
EVENT_TYPES = ("login", "page_view", "action")
ACTIONS = (
    "video_play",
    "file_download",
    "link_click",
    "image_view",
    "pdf_open",
    "card_view",
    "goal_complete",
    "search",
)
DEVICES = ("desktop", "mobile", "tablet")
RESOLUTIONS = ("self_service", "agent")
KINDS = ACCOUNT_KINDS

WINDOW_HELP = {
    "range": "Named range relative to as_of (default last_30_days): {ranges}. "
    "Use either range or from/to.",
    "from": "First day of an explicit window, YYYY-MM-DD (with to).",
    "to": "Last day of the window, YYYY-MM-DD, inclusive.",
    "as_of": "Date (the end of that day) or ISO 8601 instant that plays 'now'.",
}
"""How the window's parameters are described wherever they are taken."""

MEASURES = (
    Measure(
        "invites_sent",
        "Invites sent",
        "Invites with sent_at in the window.",
        "invites",
        RowCount(),
        synonyms=("invites", "invitations", "invitations sent", "invited people"),
    ),
    Measure(
        "logins",
        "Logins",
        "Login events in the window.",
        "events",
        EventCount((("type", "login"),), rollup="logins"),
        synonyms=("log ins", "log-ins", "sign ins", "sign-ins", "signins"),
    ),
    Measure(
        "sessions",
        "Visits",
        "Sessions (visits) starting in the window: a user's events in one portal, split by "
        "30 minutes idle or 4 hours from the first event.",
        "sessions",
        SessionAggregate("count"),
        synonyms=("visits", "session count", "portal visits"),
    ),
    Measure(
        "page_views",
        "Page views",
        "page_view events in the window.",
        "events",
        EventCount((("type", "page_view"),), rollup="page_views"),
        synonyms=("pageviews", "views", "page visits"),
    ),
    Measure(
        "actions",
        "Actions",
        "action events in the window (downloads, video plays, clicks …).",
        "events",
        EventCount((("type", "action"),), rollup="actions"),
        synonyms=("interactions", "clicks"),
    ),
    Measure(
        "tasks_completed",
        "Tasks completed",
        "Tasks with completed_at in the window.",
        "tasks",
        RowCount(),
        synonyms=("completed tasks", "tasks done", "finished tasks"),
    ),
    Measure(
        "unique_users",
        "Unique users",
        "Distinct users with a session in the window.",
        "sessions",
        SessionAggregate("users"),
        synonyms=(
            "active users",
            "distinct users",
            "users",
            "people",
            "visitors",
            "users active",
            "people active",
        ),
    ),
    Measure(
        "avg_session_seconds",
        "Avg visit duration",
        "Mean duration of the sessions starting in the window (last event − first event), "
        "in seconds; null without sessions.",
        "sessions",
        SessionAggregate("mean_seconds"),
        format="seconds",
        unit="seconds",
        synonyms=(
            "average session duration",
            "avg session length",
            "average visit duration",
            "time on portal",
            "session length",
            "visit length",
            "average visit",
            "average session",
            "visit duration",
            "session duration",
        ),
    ),
    Measure(
        "invited",
        "Invited",
        "Distinct users with an invite sent before the window's end.",
        "invited_users",
        InvitedUsers(),
        temporal="state",
        synonyms=("invited users", "people invited"),
    ),
    Measure(
        "logged_in",
        "Logged in",
        "Invited users with a login event, on a portal they were invited to, before the "
        "window's end.",
        "invited_users",
        InvitedUsers(logged_in=True),
        temporal="state",
        synonyms=("logged in users", "users who logged in", "activated users"),
    ),
    Measure(
        "tasks_open",
        "Open tasks",
        "Tasks not completed at the window's end.",
        "open_tasks",
        TaskState("open"),
        temporal="state",
        synonyms=(
            "open tasks",
            "outstanding tasks",
            "tasks open",
            "incomplete tasks",
            "tasks are open",
            "tasks still open",
            "tasks are still open",
            "unfinished tasks",
        ),
        higher_is_better=False,
    ),
    Measure(
        "tasks_assigned",
        "Tasks assigned",
        "Tasks with an assignee, created before the window's end.",
        "open_tasks",
        TaskState("assigned"),
        temporal="state",
        synonyms=("assigned tasks",),
    ),
    Measure(
        "tasks_unassigned",
        "Unassigned tasks",
        "Open tasks without an assignee at the window's end.",
        "open_tasks",
        TaskState("unassigned"),
        temporal="state",
        synonyms=("unassigned", "tasks without an owner", "tasks nobody owns"),
        higher_is_better=False,
    ),
    Measure(
        "tasks_overdue",
        "Overdue tasks",
        "Open assigned tasks whose due date is before the date of the window's end.",
        "open_tasks",
        TaskState("overdue"),
        temporal="state",
        synonyms=("overdue", "late tasks", "past due tasks", "overdue tasks"),
        higher_is_better=False,
    ),
)

_SESSION_RULE = "a session by its first event"
DIMENSIONS = (
    Dimension(
        "project",
        "Project",
        "The onboarding project (portal) the activity happened in.",
        "entity",
        "the event's, session's or invite's project_id; partner-portal activity has none; "
        "a task's project",
        synonyms=("projects", "onboarding", "onboardings", "portal"),
    ),
    Dimension(
        "account",
        "Account",
        "The customer or partner account.",
        "entity",
        "the user's account for events, sessions and invites; the project's account for tasks",
        synonyms=("accounts", "customer", "customers", "company", "companies", "client"),
    ),
    Dimension(
        "owner",
        "Owner",
        "The team member who owns the project or partner.",
        "entity",
        "project-portal activity: the project's owner, else its account's owner; "
        "partner-portal activity: the partner account's owner",
        synonyms=("owners", "csm", "manager", "team member", "rep", "account manager"),
    ),
    Dimension(
        "partner_type",
        "Partner type",
        "referral or reseller (partners only).",
        "category",
        "the account's partner_type",
        synonyms=("partner types", "type of partner"),
        values=PARTNER_TYPES,
    ),
    Dimension(
        "kind",
        "Account kind",
        "customer or partner.",
        "category",
        "the account's kind",
        synonyms=("account type", "customer or partner", "segment"),
        values=KINDS,
    ),
    Dimension(
        "playbook",
        "Playbook",
        "The project's onboarding playbook.",
        "category",
        "the project's playbook",
        synonyms=("playbooks", "template"),
    ),
    Dimension(
        "status",
        "Project status",
        "The project's status.",
        "category",
        "the project's status",
        synonyms=("statuses", "stage", "project status"),
        values=PROJECT_STATUSES,
    ),
    Dimension(
        "role",
        "Role",
        "The user's role (free text, e.g. admin, member).",
        "category",
        "the user's role",
        synonyms=("roles", "user role", "job role"),
    ),
    Dimension(
        "device",
        "Device",
        "desktop, mobile or tablet.",
        "category",
        f"an event's own device; {_SESSION_RULE}'s",
        synonyms=("devices", "platform"),
        values=DEVICES,
    ),
    Dimension(
        "room",
        "Room",
        "A portal room (events only).",
        "entity",
        "the event's room_id",
        synonyms=("rooms", "space"),
    ),
    Dimension(
        "resource",
        "Resource",
        "A resource: a document, video or page (events only).",
        "entity",
        "the event's resource_id",
        synonyms=("resources", "content", "document", "file", "asset"),
    ),
    Dimension(
        "day",
        "Day",
        "UTC calendar day.",
        "time",
        f"the event's day; {_SESSION_RULE}",
        synonyms=("daily", "per day", "days"),
    ),
    Dimension(
        "week",
        "Week",
        "ISO week, labelled by its Monday.",
        "time",
        f"the event's ISO week; {_SESSION_RULE}",
        synonyms=("weekly", "per week", "weeks"),
    ),
    Dimension(
        "month",
        "Month",
        "Calendar month, labelled by its first day.",
        "time",
        f"the event's month; {_SESSION_RULE}",
        synonyms=("monthly", "per month", "months"),
    ),
)

FILTERS = (
    Filter(
        "owner",
        "Owner",
        "Team member (id, name, first name or email): their projects and partners.",
        entity="member",
        synonyms=("csm", "manager", "rep"),
    ),
    Filter(
        "account",
        "Account",
        "Account id or name; several for any of them.",
        entity="account",
        many=True,
        synonyms=("customer", "partner", "company"),
    ),
    Filter("playbook", "Playbook", "Projects of this playbook only.", synonyms=("template",)),
    Filter(
        "partner_type",
        "Partner type",
        "Partners of this type only (drops customer projects).",
        values=PARTNER_TYPES,
    ),
    Filter(
        "status",
        "Project status",
        "Projects in this status only; several for any of them.",
        values=PROJECT_STATUSES,
        many=True,
    ),
    Filter(
        "project",
        "Project",
        "Project id or name; several for any of them.",
        entity="project",
        many=True,
        synonyms=("onboarding",),
    ),
)

RANGES = (
    Range("last_7_days", "Last 7 days", ("past week", "last seven days", "past 7 days")),
    Range("last_14_days", "Last 14 days", ("last fortnight", "past two weeks", "last 2 weeks")),
    Range("last_30_days", "Last 30 days", ("past month", "last thirty days", "past 30 days")),
    Range("last_90_days", "Last 90 days", ("past quarter", "last three months", "past 90 days")),
    Range("this_month", "This month", ("month to date", "mtd", "so far this month")),
    Range("this_quarter", "This quarter", ("quarter to date", "qtd")),
    Range("this_year", "This year", ("year to date", "ytd")),
    Range("last_month", "Last month", ("previous month", "the month before")),
    Range("last_quarter", "Last quarter", ("previous quarter",)),
    Range("last_year", "Last year", ("previous year",)),
)

SIGNALS = (
    Signal(
        "never_logged_in",
        "Never logged in",
        "Invited users who have not logged in yet.",
        "an invited user with no login event before as_of",
        ("user", "project", "partner"),
        synonyms=(
            "never logged in",
            "not logged in",
            "no login",
            "haven't logged in",
            "never showed up",
            "never turned up",
            "never signed in",
        ),
    ),
    Signal(
        "inactive_project",
        "Inactive project",
        "In-progress projects nobody visited lately.",
        "project in_progress with no session in the 14 days before as_of (or none ever)",
        ("project",),
        synonyms=("inactive", "no activity", "quiet project", "stalled"),
    ),
    Signal(
        "low_invite_conversion",
        "Low invite conversion",
        "Projects where few invited users logged in.",
        "project with ≥ 3 invited users and logged_in ÷ invited < 50%",
        ("project",),
        synonyms=("low conversion", "low adoption", "poor conversion", "low invite conversion"),
    ),
    Signal(
        "overdue_tasks",
        "Overdue tasks",
        "Projects with overdue tasks.",
        "project with ≥ 1 overdue task",
        ("project",),
        synonyms=("overdue", "late tasks", "past due"),
    ),
    Signal(
        "unassigned_tasks",
        "Unassigned tasks",
        "Projects with open tasks nobody owns.",
        "project with ≥ 1 open unassigned task",
        ("project",),
        synonyms=("unassigned",),
    ),
    Signal(
        "declining_duration",
        "Shorter visits",
        "Visits getting much shorter.",
        "project or partner whose mean session duration in the last 14 days is under half "
        "that of the 14 days before (both periods with sessions)",
        ("project", "partner"),
        synonyms=(
            "shorter visits",
            "declining duration",
            "dropping engagement",
            "shorter sessions",
            "visits getting shorter",
            "sessions getting shorter",
            "shrinking visits",
        ),
    ),
    Signal(
        "dormant_partner",
        "Dormant partner",
        "Partners with no recent visits.",
        "partner account with no session in the 30 days before as_of",
        ("partner",),
        synonyms=(
            "dormant",
            "inactive partner",
            "sleeping partner",
            "not active",
            "not been active",
            "no recent visits",
        ),
    ),
    Signal(
        "visits_without_actions",
        "Visits without actions",
        "Visitors who look but do nothing.",
        "project or partner with sessions but no action events in the window",
        ("project", "partner"),
        synonyms=(
            "no actions",
            "passive visits",
            "browsing only",
            "doing nothing",
            "do nothing",
            "not doing anything",
            "without doing anything",
            "without acting",
        ),
    ),
)

LEVELS = (
    RiskLevel(
        "high",
        "High risk",
        "on-time health off track, or an inactive project that also has overdue tasks or "
        "low invite conversion",
        ("high risk", "at high risk", "in the red", "critical"),
    ),
    RiskLevel(
        "medium",
        "Medium risk",
        "on-time health at risk, or any of inactive project, overdue tasks, low invite "
        "conversion, shorter visits",
        ("medium risk", "moderate risk", "amber"),
    ),
    RiskLevel(
        "low",
        "Low risk",
        "none of the above (minor signals may be present)",
        ("low risk", "green"),
    ),
)

_P, _U, _L = "projects", "users", "leaderboard"
COLUMNS = (
    Column("project", "Project", "text", (_P, _U)),
    Column("project_id", "Project id", "text", (_P, _U)),
    Column("account", "Account", "text", (_P, _U)),
    Column("account_id", "Account id", "text", (_P, _U)),
    Column("owner", "Owner", "text", (_P, _L)),
    Column("owner_id", "Owner id", "text", (_P, _L)),
    Column("status", "Status", "text", (_P,)),
    Column("playbook", "Playbook", "text", (_P,)),
    Column("invited", "Invited", "count", (_P,)),
    Column("logged_in", "Logged in", "count", (_P,)),
    Column("conversion", "Conversion", "percent", (_P,), "logged_in ÷ invited"),
    Column("sessions", "Visits", "count", (_P, _U, _L)),
    Column("avg_session_seconds", "Avg visit", "seconds", (_P, _L)),
    Column("last_visit", "Last visit", "datetime", (_P, _U)),
    Column("last_action", "Last action", "text", (_P,)),
    Column("tasks_completed", "Tasks done", "count", (_P, _U)),
    Column("tasks_assigned", "Assigned", "count", (_P,)),
    Column("tasks_unassigned", "Unassigned", "count", (_P,)),
    Column("tasks_overdue", "Overdue", "count", (_P,)),
    Column("user", "User", "text", (_U,)),
    Column("user_id", "User id", "text", (_U,)),
    Column("invited_at", "Invited", "datetime", (_U,)),
    Column("first_login", "First login", "datetime", (_U,)),
    Column("logins", "Logins", "count", (_U,)),
    Column("open_assigned_tasks", "Open assigned tasks", "count", (_U,)),
    Column("rank", "Rank", "count", (_L,)),
    Column("partner", "Partner", "text", (_L,)),
    Column("partner_id", "Partner id", "text", (_L,)),
    Column("partner_type", "Type", "text", (_L,)),
    Column("users", "Users", "count", (_L,)),
    Column("page_views", "Page views", "count", (_L,)),
    Column("score", "Score", "score", (_L,), "weighted score (SPEC §4.6)"),
)


def build() -> Registry:
    registry = Registry()
    registry.add(*MEASURES, *DIMENSIONS, *FILTERS, *RANGES, *SIGNALS, *LEVELS, *COLUMNS)
    return registry


REGISTRY = build()
"""The product's registry. Tests may extend it with :meth:`Registry.extended`."""
