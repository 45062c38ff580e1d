"""Weekly AI digest emails (issue #7): per-recipient content from the metrics layer, a
grounded summary, HTML/text rendering with an inline chart, exactly-once SMTP delivery,
subscriptions and the scheduler; the same digest posted to Slack / Teams webhooks.

| module | responsibility |
| --- | --- |
| ``weeks`` | ISO weeks; when a subscription's digest is due |
| ``settings`` | SMTP, links, signing and retry settings from the environment |
| ``store`` | subscriptions and the exactly-once ledger |
| ``model``, ``content`` | the digest as data; building it (sections and lookups only) |
| ``summary`` | the model's paragraph under the grounding check, or the template |
| ``chart``, ``render`` | the PNG trend chart; HTML/text parts and the MIME message |
| ``tokens`` | signed unsubscribe tokens |
| ``delivery`` | SMTP with transient/permanent failures |
| ``chat``, ``webhook`` | Slack Block Kit / Teams Adaptive Card; webhook URL checks, posting |
| ``service`` | a run: claim, build, send with retries, report |
| ``scheduler`` | APScheduler job inside ``portalpulse serve`` |
"""

from assistant.digest.service import DigestService, Outcome, RunReport
from assistant.digest.settings import DigestSettings, DigestSettingsError

__all__ = [
    "DigestService",
    "DigestSettings",
    "DigestSettingsError",
    "Outcome",
    "RunReport",
    "start_scheduler",
]


def start_scheduler(*args: object, **kwargs: object) -> object:
    """See :func:`assistant.digest.scheduler.start_scheduler` (imported lazily: APScheduler
    is only loaded when the scheduler is enabled)."""
    from assistant.digest.scheduler import start_scheduler as start

    return start(*args, **kwargs)  # type: ignore[arg-type]
