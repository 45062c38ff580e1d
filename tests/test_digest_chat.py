"""Slack Block Kit and Teams Adaptive Card rendering of a digest: Slack's limits with
"and K more" truncation, escaping, and the card's structure (no network, no database
beyond building one real digest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.digest import DigestService, DigestSettings
from assistant.digest.chat import (
    ADAPTIVE_CARD,
    MAX_BLOCKS,
    MAX_FIELD,
    MAX_HEADER,
    MAX_TEXT,
    fit,
    payload,
    slack_payload,
    teams_payload,
)
from assistant.digest.model import ChaseUser, DigestContent, MemberLink, Risk
from assistant.digest.summary import Summary, templated
from assistant.digest.weeks import parse_week
from tests.conftest import Db
from tests.digest_support import WEEK, load_book


@pytest.fixture
def content(sqlite_db: Db, tmp_path: Path) -> DigestContent:
    ws = load_book(sqlite_db, tmp_path)
    service = DigestService(
        sqlite_db.engine, ws, "default", DigestSettings(secret="k", base_url="http://pp.test")
    )
    prepared = service.prepare(service.subscription_for("tm1"), parse_week(WEEK))
    return prepared.content


def summary_of(content: DigestContent) -> Summary:
    return Summary(templated(content), "template", True)


def slack_texts(blocks: list[dict]) -> list[str]:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
        out += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return out


def test_fit_keeps_the_limit_and_counts_the_rest() -> None:
    items = [f"user {i:03d} " + "x" * 80 for i in range(60)]

    def more(k: int) -> str:
        return f"and {k} more: <http://pp.test/|see the dashboard>"

    text = fit("*Invited (500)*", items, 500, more, 3000)
    lines = text.split("\n")
    assert len(text) <= 3000
    shown = [line for line in lines[1:] if line.startswith("• user")]
    assert 20 < len(shown) < 60
    assert lines[-1] == f"• and {500 - len(shown)} more: <http://pp.test/|see the dashboard>"
    # Everything fits: no "more" line unless the total says there are more.
    assert fit("h", ["a", "b"], 2, more, 3000) == "h\n• a\n• b"
    assert fit("h", ["a", "b"], 9, more, 3000).endswith(
        "• and 7 more: <http://pp.test/|see the dashboard>"
    )


def test_slack_limits_hold_for_a_huge_digest(content: DigestContent) -> None:
    big = content.model_copy(deep=True)
    long = "Very Long Name " * 30
    big.never_logged_in = [
        ChaseUser(
            user_id=f"u{i}",
            user=f"{long}{i}",
            email=f"u{i}@example.com",
            account="Acme",
            portal="Rollout",
            days_since_invite=3,
        )
        for i in range(8)
    ]
    big.never_logged_in_total = 1234
    big.team = [
        MemberLink(member_id=f"m{i}", name=f"Member {i}", link=f"http://pp.test/?owner=m{i}")
        for i in range(40)
    ]
    big.risks = [
        Risk(**{**big.risks[0].model_dump(), "entity": long * 10, "next_step": long * 10})
        for _ in range(60)
    ]
    body = slack_payload(big, Summary("word " * 2000, "template", True))
    blocks = body["blocks"]
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-2]["type"] == "actions" and blocks[-1]["type"] == "context"
    texts = slack_texts(blocks)
    # The risks that did not fit are counted, and the lists after them are all there.
    risk_blocks = [t for t in texts if t.startswith("*[")]
    more = f"and {max(big.risks_total, 60) - len(risk_blocks)} more: <{big.dashboard_link}|"
    assert 30 < len(risk_blocks) < 60 and any(t.startswith(more) for t in texts)
    assert texts[-2].startswith("*Your team's dashboards*")
    assert len(blocks[0]["text"]["text"]) <= MAX_HEADER
    for block in blocks:
        if "text" in block and block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_TEXT
        for f in block.get("fields", []):
            assert len(f["text"]) <= MAX_FIELD
    never = next(t for t in texts if t.startswith("*Invited, never logged in"))
    shown = never.count("• Very Long Name")
    assert 0 < shown < 8
    assert f"• and {1234 - shown:,} more: <{big.dashboard_link}|see the dashboard>" in never
    team = next(t for t in texts if t.startswith("*Your team's dashboards*"))
    assert team.count("<http://pp.test/?owner=") == 10 and "• and 30 more" in team


def test_slack_escapes_names_but_not_links(content: DigestContent) -> None:
    odd = content.model_copy(deep=True)
    odd.recipient = "Ann <admin> & co"
    odd.risks[0].entity = "R&D <Labs>"
    body = slack_payload(odd, summary_of(odd))
    text = json.dumps(body)
    assert "Ann &lt;admin&gt; &amp; co" in text and "R&amp;D &lt;Labs&gt;" in text
    assert "<admin>" not in text and "R&D" not in text
    assert f"<{odd.risks[0].link}|Open in dashboard>" in text  # the URL itself untouched


def test_teams_card_structure(content: DigestContent) -> None:
    body = teams_payload(content, summary_of(content))
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["$schema"].startswith("http://adaptivecards.io")
    kinds = [b["type"] for b in card["body"]]
    assert set(kinds) == {"TextBlock", "FactSet"} and kinds.count("FactSet") == 1
    assert all(b["wrap"] for b in card["body"] if b["type"] == "TextBlock")
    text = json.dumps(card)
    for risk in content.risks:
        assert f"[Open in dashboard]({risk.link})" in text
    # a shared channel gets no one-click unsubscribe of this member's digest
    [only] = card["actions"]
    assert only == {
        "type": "Action.OpenUrl",
        "title": "Dashboard for this week",
        "url": content.dashboard_link,
    }
    assert content.unsubscribe_link not in text
    assert not re.search(r"\n\n\n", "".join(b.get("text", "") for b in card["body"]))
    assert payload("teams", content, summary_of(content)) == body
    with pytest.raises(ValueError, match="unknown webhook kind 'discord'"):
        payload("discord", content, summary_of(content))
