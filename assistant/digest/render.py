"""HTML and plain-text parts from ``prompts/digest/*.j2``, and the MIME message around them.

The HTML is built the way mail clients (Outlook's Word engine included) render
it: nested tables, inline styles, fixed widths, no CSS classes, flexbox or web
fonts. The chart is a PNG in a ``multipart/related`` part referenced by
Content-ID; the preview page passes a ``data:`` URL instead, since browsers do
not resolve ``cid:``.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from assistant.answers import PROMPTS, change, day, num, pct, secs
from assistant.digest.model import DigestContent
from assistant.digest.summary import Summary


def delta(value: float | None) -> str:
    """A percent change for a card: ▲ 12.5% / ▼ 3.0% / = / new."""
    if value is None:
        return "–"
    if value == 0:
        return "= 0%"
    return f"{'▲' if value > 0 else '▼'} {abs(value):.1f}%"


def card_value(card: Any) -> str:
    return secs(card.value) if card.key == "avg_session_seconds" else num(card.value)


def card_previous(card: Any) -> str:
    return secs(card.previous) if card.key == "avg_session_seconds" else num(card.previous)


def figures(numbers: dict[str, Any]) -> str:
    """A risk's numbers as 'invited 5 · logged in 0 · conversion 0.0%'.

    Ratios (floats within ±1, not durations) read as percentages and ISO instants as
    dates; both are conversions the grounding check accepts.
    """
    parts = []
    for key, value in numbers.items():
        if isinstance(value, float) and abs(value) <= 1 and "seconds" not in key:
            shown = pct(value)
        elif isinstance(value, int | float):
            shown = num(value)
        elif isinstance(value, str) and _INSTANT.match(value):
            shown = day(value)
        else:
            shown = str(value)
        parts.append(f"{key.replace('_', ' ')} {shown}")
    return " · ".join(parts)


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PROMPTS),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html.j2"], default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=num,
        change=change,
        secs=secs,
        day=day,
        delta=delta,
        card_value=card_value,
        card_previous=card_previous,
        figures=figures,
    )
    return env


def render_parts(
    content: DigestContent, summary: Summary, *, image_src: str | None
) -> tuple[str, str]:
    """(html, text) of a digest; ``image_src`` is ``cid:…`` in mail, a data URL in previews."""
    context = {"c": content, "summary": summary, "image_src": image_src}
    html = environment().get_template("digest/email.html.j2").render(**context)
    text = environment().get_template("digest/email.txt.j2").render(**context)
    return html, text.strip() + "\n"


def subject(content: DigestContent) -> str:
    visits = num(content.card("sessions").value)
    risks = content.risks_total
    scope = "your team" if content.team else "your book"
    return (
        f"PortalPulse weekly digest {content.week}: {visits} visits, "
        f"{risks} risk{'s' if risks != 1 else ''} in {scope}"
    )


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def build_message(
    content: DigestContent,
    summary: Summary,
    png: bytes | None,
    *,
    sender: str,
    message_id: str,
    now: datetime | None = None,
) -> EmailMessage:
    """The MIME message: text and HTML alternatives, the chart inline, unsubscribe headers."""
    domain = message_id.rsplit("@", 1)[-1].rstrip(">") or "portalpulse"
    cid = make_msgid("trend", domain=domain)
    html, text = render_parts(content, summary, image_src=f"cid:{cid[1:-1]}" if png else None)
    message = EmailMessage()
    message["Subject"] = subject(content)
    message["From"] = sender
    message["To"] = f"{content.recipient} <{content.email}>"
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-PortalPulse-Week"] = content.week
    if content.unsubscribe_link:
        message["List-Unsubscribe"] = f"<{content.unsubscribe_link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if png:
        html_part = message.get_payload()[1]
        html_part.add_related(png, "image", "png", cid=cid, filename="trend.png")
    return message
