"""The digest as a Slack message (Block Kit) or a Teams message (an Adaptive Card).

Both are built from the :class:`DigestContent` and :class:`Summary` the email uses,
with the lines of ``prompts/digest/chat.j2`` and the email's filters (numbers,
changes, durations, days, a risk's figures): nothing is computed or labelled here.

Slack's limits are kept: at most 50 blocks, 3000 characters in a section's text
(2000 in a field, 150 in the header). A list that does not fit ends with
"and K more" and the dashboard link, as the email's lists do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from assistant.digest.model import DigestContent
from assistant.digest.render import environment, subject
from assistant.digest.summary import Summary

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_FIELD = 2000
MAX_HEADER = 150
MAX_FIELDS = 10
TEAM_LINKS = 10
"""Team members' dashboard links shown before "and K more" (email shows all; a chat
message stays short)."""
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class Markup:
    """How a target writes bold text, escapes text and makes links."""

    b: Callable[[str], str]
    esc: Callable[[str], str]
    link: Callable[[str, str], str]


def _slack_escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SLACK = Markup(
    b=lambda t: f"*{t}*",
    esc=_slack_escape,
    link=lambda url, text: f"<{url}|{text}>",
)
TEAMS = Markup(
    b=lambda t: f"**{t}**",
    esc=lambda t: str(t),
    link=lambda url, text: f"[{text}]({url})",
)


def _lines() -> Any:
    return environment().get_template("digest/chat.j2").module


def _say(name: str, *args: Any) -> str:
    """A macro of the template, without its blank lines (e.g. a risk without figures)."""
    text = str(getattr(_lines(), name)(*args))
    return "\n".join(line for line in text.strip().splitlines() if line.strip())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit(heading: str, items: list[str], total: int, more: Callable[[int], str], limit: int) -> str:
    """``heading`` and one bullet per item within ``limit`` characters; items that do not
    fit (and those beyond the list, up to ``total``) become the ``more(K)`` line."""
    out = [heading]
    size = len(heading)
    for index, item in enumerate(items):
        line = f"• {item}"
        left = max(total, len(items)) - index - 1
        reserve = len(more(left)) + 3 if left else 0
        if size + 1 + len(line) + reserve > limit:
            out.append(f"• {more(max(total, len(items)) - index)}")
            return "\n".join(out)
        out.append(line)
        size += 1 + len(line)
    if total > len(items):
        out.append(f"• {more(total - len(items))}")
    return "\n".join(out)


def _sections(c: DigestContent, summary: Summary, m: Markup, limit: int) -> dict[str, Any]:
    """The texts both targets show, in the target's markup."""

    def more(count: int) -> str:
        return _say("more", m, count, c.dashboard_link)

    def bullets(heading: str, items: Iterable[str], total: int, empty: str) -> str:
        shown = list(items)
        if not shown and not total:
            return fit(heading, [empty], 1, more, limit)
        return fit(heading, shown, total, more, limit)

    risks = [_say("risk", m, r) for r in c.risks] or [_say("no_risks")]
    wins = [_say("win", m, w) for w in c.wins]
    never = bullets(
        m.b(_say("never_heading", c)),
        (_say("never_user", m, u) for u in c.never_logged_in),
        c.never_logged_in_total,
        _say("nobody_to_chase"),
    )
    tasks = bullets(
        m.b(_say("tasks_heading", c)),
        (_say("task", m, t) for t in c.overdue_tasks),
        c.overdue_tasks_total,
        _say("no_tasks"),
    )
    members = [_say("member", m, member) for member in c.team]
    team = (
        fit(
            m.b(_say("team_heading")),
            members[:TEAM_LINKS],
            len(members),
            lambda k: _say("more", m, k, c.dashboard_link),
            limit,
        )
        if members
        else None
    )
    return {
        "title": _say("title", c),
        "period": _say("period", m, c),
        "summary": _clip(m.esc(summary.text.strip()), limit),
        "kpis": _say("kpis_heading"),
        "cards": [(c_.label, _say("card_figures", c_)) for c_ in c.cards],
        "risks_heading": _say("risks_heading", c),
        "risks": [_clip(r, limit) for r in risks],
        "wins": bullets(m.b(_say("wins_heading")), wins, len(wins), _say("no_wins")),
        "chase": _say("chase_heading"),
        "never": never,
        "tasks": tasks,
        "team": team,
        "footer": _say("footer", c),
    }


# -- Slack ---------------------------------------------------------------------------


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_TEXT)}}


def _button(text: str, url: str, action: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "url": url,
        "action_id": action,
    }


def slack_payload(content: DigestContent, summary: Summary) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (the notification) and the ``blocks``."""
    s = _sections(content, summary, SLACK, MAX_TEXT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(s["title"], MAX_HEADER)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": s["period"]}]},
        _mrkdwn(s["summary"]),
        {"type": "divider"},
    ]
    cards = s["cards"]
    for start in range(0, len(cards), MAX_FIELDS):
        section: dict[str, Any] = {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _clip(f"*{_slack_escape(label)}*\n{value}", MAX_FIELD)}
                for label, value in cards[start : start + MAX_FIELDS]
            ],
        }
        if start == 0:
            section["text"] = {"type": "mrkdwn", "text": f"*{s['kpis']}*"}
        blocks.append(section)
    blocks.append({"type": "divider"})
    blocks.append(_mrkdwn(f"*{s['risks_heading']}*"))
    risks = [_mrkdwn(text) for text in s["risks"]]
    rest: list[dict[str, Any]] = [{"type": "divider"}, _mrkdwn(s["wins"])]
    rest.append({"type": "divider"})
    rest.append(_mrkdwn(f"*{s['chase']}*"))
    rest.append(_mrkdwn(s["never"]))
    rest.append(_mrkdwn(s["tasks"]))
    if s["team"]:
        rest.append(_mrkdwn(s["team"]))
    # No unsubscribe button: in a shared channel anyone could switch off this member's digest.
    buttons = [_button(_say("dashboard_button"), content.dashboard_link, "dashboard")]
    tail = [
        {"type": "actions", "elements": buttons},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": s["footer"]}]},
    ]
    # Too many risks for Slack's 50 blocks: the last ones become "and K more".
    room = max(MAX_BLOCKS - len(blocks) - len(rest) - len(tail), 1)
    if len(risks) > room:
        left = max(content.risks_total, len(risks)) - (room - 1)
        risks = [*risks[: room - 1], _mrkdwn(_say("more", SLACK, left, content.dashboard_link))]
    blocks += risks + rest
    room = MAX_BLOCKS - len(tail)
    if len(blocks) > room:  # a last resort: nothing above should get here
        cut = len(blocks) - room + 1
        more = _mrkdwn(_say("more", SLACK, cut, content.dashboard_link))
        blocks = [*blocks[: room - 1], more]
    return {"text": subject(content), "blocks": blocks + tail}


# -- Teams ---------------------------------------------------------------------------


def _text(text: str, **style: Any) -> dict[str, Any]:
    # Adaptive Cards markdown starts a new line at a blank line.
    return {"type": "TextBlock", "text": text.replace("\n", "\n\n"), "wrap": True, **style}


def teams_payload(content: DigestContent, summary: Summary) -> dict[str, Any]:
    """A Teams incoming-webhook / Workflows body: a ``message`` holding one Adaptive Card."""
    s = _sections(content, summary, TEAMS, MAX_TEXT)
    heading = {"weight": "Bolder", "separator": True, "spacing": "Medium"}
    body: list[dict[str, Any]] = [
        _text(s["title"], size="Large", weight="Bolder"),
        _text(s["period"], isSubtle=True, spacing="None"),
        _text(s["summary"]),
        _text(s["kpis"], **heading),
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": value} for label, value in s["cards"]],
        },
        _text(s["risks_heading"], **heading),
        *(_text(r) for r in s["risks"]),
        _text(s["wins"], separator=True),
        _text(s["chase"], **heading),
        _text(s["never"]),
        _text(s["tasks"]),
    ]
    if s["team"]:
        body.append(_text(s["team"], separator=True))
    body.append(_text(s["footer"], isSubtle=True, size="Small", separator=True))
    actions = [
        {"type": "Action.OpenUrl", "title": _say("dashboard_button"), "url": content.dashboard_link}
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "fallbackText": subject(content),
        "body": body,
        "actions": actions,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


def payload(kind: str, content: DigestContent, summary: Summary) -> dict[str, Any]:
    """The body to post to a ``slack`` or ``teams`` webhook."""
    if kind == "slack":
        return slack_payload(content, summary)
    if kind == "teams":
        return teams_payload(content, summary)
    raise ValueError(f"unknown webhook kind {kind!r} (slack or teams)")
