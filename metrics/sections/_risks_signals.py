"""Signal rows: rule texts, numbers, severities and next steps per entity (pure Python)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from metrics.results import ratio, seconds
from metrics.scope import iso
from metrics.sections._risks_facts import EntityFacts, InvitePair, never_logged_in_users
from metrics.sections._risks_rules import (
    InvitedPortal,
    RiskThresholds,
    Signal,
    days_between,
    declining,
    exact,
    moment,
    on_time_health,
)


class Builder:
    """Makes signal rows with owner names and consistent texts."""

    def __init__(
        self, members: dict[str, str], th: RiskThresholds, t: datetime, window: tuple[str, str]
    ) -> None:
        self.members = members
        self.th = th
        self.t = t
        self.window = window

    def _row(
        self,
        signal: str,
        entity_type: str,
        facts: EntityFacts,
        rule: str,
        numbers: dict,
        severity: str,
        next_step: str,
    ) -> Signal:
        return Signal(
            signal=signal,
            entity_type=entity_type,
            entity_id=facts.entity_id,
            entity=facts.name,
            account_id=facts.account_id,
            account=facts.account,
            owner_id=facts.owner_id,
            owner=self.members.get(facts.owner_id or ""),
            rule=rule,
            numbers=numbers,
            severity=severity,
            next_step=next_step,
        )

    # -- users -------------------------------------------------------------------------

    def never_logged_in(
        self, pairs: list[InvitePair], projects: dict[str, EntityFacts]
    ) -> list[Signal]:
        """One row per invited user with no login on any of the portals invited to."""
        rows = []
        for waiting in never_logged_in_users(pairs).values():
            waiting.sort(key=lambda p: (p.invited_at, _portal_name(p, projects), p.project_id))
            first = waiting[0]
            days = days_between(first.invited_at, self.t) or 0
            if days >= self.th.invite_high_days:
                severity = "high"
            elif days >= self.th.invite_medium_days:
                severity = "medium"
            else:
                severity = "low"
            portal = projects.get(first.project_id)
            owner_id = portal.owner_id if portal else first.account_owner_id
            names = ", ".join(_portal_name(p, projects) for p in waiting)
            if first.project_id:
                step = (
                    f"Resend the invite to {first.user} and ask the project admin to "
                    "introduce the portal"
                )
            else:
                step = (
                    f"Resend the partner-portal invite to {first.user} and offer a short "
                    "walkthrough of the first login"
                )
            rows.append(
                Signal(
                    signal="never_logged_in",
                    entity_type="user",
                    entity_id=first.user_id,
                    entity=first.user,
                    account_id=first.account_id,
                    account=first.account,
                    owner_id=owner_id,
                    owner=self.members.get(owner_id or ""),
                    rule=(
                        f"Invited before {moment(self.t)} and no login event before then on "
                        f"any portal invited to ({names})"
                    ),
                    numbers={"portals": len(waiting), "days_since_invite": days},
                    severity=severity,
                    next_step=step,
                    portals=[
                        InvitedPortal(
                            project_id=p.project_id or None,
                            project=_portal_name(p, projects) if p.project_id else None,
                            invited_at=p.invited_at,
                        )
                        for p in waiting
                    ],
                )
            )
        return rows

    # -- projects ----------------------------------------------------------------------

    def project_signals(self, p: EntityFacts) -> list[Signal]:
        """Every project signal that fires for ``p``."""
        th, out = self.th, []
        days = days_between(p.last_visit, self.t)
        recent_start = self.t - timedelta(days=th.inactive_days)
        if p.status == "in_progress" and (p.last_visit is None or p.last_visit < recent_start):
            long_ago = self.t - timedelta(days=2 * th.inactive_days)
            out.append(
                self._row(
                    "inactive_project",
                    "project",
                    p,
                    f"Project in progress with no session in the {th.inactive_days} days "
                    f"before {moment(self.t)}",
                    {
                        "days_since_last_visit": days,
                        "last_visit": iso(p.last_visit) if p.last_visit else None,
                    },
                    "high" if p.last_visit is None or p.last_visit < long_ago else "medium",
                    f"Contact {p.account} about {p.name}: schedule a check-in and agree the "
                    "next step in the portal",
                )
            )
        if p.users >= th.min_invited and Fraction(p.logged_in, p.users) < exact(
            th.conversion_below
        ):
            out.append(
                self._row(
                    "low_invite_conversion",
                    "project",
                    p,
                    f"At least {th.min_invited} users invited and fewer than "
                    f"{th.conversion_below:.0%} of them logged in",
                    {
                        "invited": p.users,
                        "logged_in": p.logged_in,
                        "conversion": ratio(p.logged_in, p.users),
                    },
                    "high" if p.logged_in == 0 else "medium",
                    f"Follow up with the {p.users - p.logged_in} invited users of {p.name} "
                    "who have not logged in yet and resend their invites",
                )
            )
        if p.tasks_overdue:
            health = on_time_health(p.tasks_overdue, p.tasks_due, th)
            severity = {"off_track": "high", "at_risk": "medium"}.get(health, "low")
            out.append(
                self._row(
                    "overdue_tasks",
                    "project",
                    p,
                    "At least 1 open assigned task due before "
                    f"{self.t.astimezone(UTC).date().isoformat()}",
                    {
                        "overdue": p.tasks_overdue,
                        "due": p.tasks_due,
                        "overdue_share": ratio(p.tasks_overdue, p.tasks_due),
                    },
                    severity,
                    f"Review the {p.tasks_overdue} overdue task(s) of {p.name} with their "
                    "assignees and agree new due dates",
                )
            )
        if p.tasks_unassigned:
            out.append(
                self._row(
                    "unassigned_tasks",
                    "project",
                    p,
                    "At least 1 open task without an assignee (severity medium above "
                    f"{th.unassigned_threshold})",
                    {"unassigned": p.tasks_unassigned, "open": p.tasks_open},
                    "medium" if p.tasks_unassigned > th.unassigned_threshold else "low",
                    f"Assign an owner to the {p.tasks_unassigned} open unassigned task(s) "
                    f"of {p.name}",
                )
            )
        out += self._activity_signals(p, "project")
        return out

    # -- partners ----------------------------------------------------------------------

    def partner_signals(self, p: EntityFacts) -> list[Signal]:
        """Every partner signal that fires for ``p``."""
        th, out = self.th, []
        if p.last_visit is None or p.last_visit < self.t - timedelta(days=th.dormant_days):
            out.append(
                self._row(
                    "dormant_partner",
                    "partner",
                    p,
                    f"Partner with no partner-portal session in the {th.dormant_days} days "
                    f"before {moment(self.t)}",
                    {
                        "days_since_last_visit": days_between(p.last_visit, self.t),
                        "last_visit": iso(p.last_visit) if p.last_visit else None,
                        "users": p.users,
                    },
                    "high" if p.last_visit is None else "medium",
                    f"Reach out to {p.name} to re-engage: share new material in the partner "
                    "portal and invite their team",
                )
            )
        out += self._activity_signals(p, "partner")
        return out

    # -- both --------------------------------------------------------------------------

    def _activity_signals(self, p: EntityFacts, entity_type: str) -> list[Signal]:
        th, out = self.th, []
        if declining(p, th):
            recent = Fraction(p.recent.total_ms, p.recent.count)
            before = Fraction(p.before.total_ms, p.before.count)
            out.append(
                self._row(
                    "declining_duration",
                    entity_type,
                    p,
                    f"Mean session duration in the {th.declining_days} days before "
                    f"{moment(self.t)} is under {th.declining_ratio:.0%} of the "
                    f"{th.declining_days} days before that",
                    {
                        "recent_avg_seconds": seconds(p.recent.total_ms, p.recent.count),
                        "previous_avg_seconds": seconds(p.before.total_ms, p.before.count),
                        "recent_sessions": p.recent.count,
                        "previous_sessions": p.before.count,
                        "change": ratio(float(recent), float(before)),
                    },
                    "medium" if recent < exact(th.declining_ratio) / 2 * before else "low",
                    f"Ask {p.name} what changed: visits got much shorter; point them to the "
                    "content they need next",
                )
            )
        if p.window_sessions and not p.window_actions:
            out.append(
                self._row(
                    "visits_without_actions",
                    entity_type,
                    p,
                    f"Sessions between {self.window[0]} and {self.window[1]} but no action "
                    "event (video, download, link, goal...) in that window",
                    {
                        "sessions": p.window_sessions,
                        "page_views": p.window_page_views,
                        "actions": 0,
                    },
                    "low",
                    f"Users visit {p.name} but do nothing there: put one clear next action "
                    "(a video, a document, a goal) on the portal home",
                )
            )
        return out


def _portal_name(pair: InvitePair, projects: dict[str, EntityFacts]) -> str:
    if not pair.project_id:
        return "partner portal"
    facts = projects.get(pair.project_id)
    return facts.name if facts else pair.project_id
