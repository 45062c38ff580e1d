"""The weekly scheduler inside ``portalpulse serve`` (APScheduler 3, a background thread).

One job runs every ``interval_minutes`` (default 15) and sends each enabled
subscription's digest once its local day and hour have come that week
(:func:`assistant.digest.weeks.due_week`). Subscriptions are read from the
database on every tick, so ``portalpulse digest subscribe`` takes effect without
a restart; the ledger makes the repeated ticks harmless (a digest already sent,
or being sent by a cron run, is skipped). ``max_instances=1`` and ``coalesce``
keep ticks from piling up when a run is slow.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from assistant.digest.service import DigestService, RunReport

log = logging.getLogger(__name__)
JOB_ID = "portalpulse-weekly-digests"


def tick(service: DigestService, now: datetime | None = None) -> RunReport:
    """Send what is due at ``now``; never raises (a scheduler thread must survive)."""
    try:
        report = service.send(due_at=now or datetime.now(UTC))
    except Exception:
        log.exception("digest scheduler tick failed")
        return RunReport(None)
    if report.outcomes:
        log.info("digest scheduler: %s", report.line())
    return report


def start_scheduler(service: DigestService, *, interval_minutes: int = 15) -> BackgroundScheduler:
    """Start the background scheduler (the caller shuts it down: ``.shutdown(wait=False)``)."""
    if not 1 <= interval_minutes <= 60 or 60 % interval_minutes:
        raise ValueError(f"interval_minutes must divide 60 (1-60), got {interval_minutes}")
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        CronTrigger(minute=f"*/{interval_minutes}", timezone=UTC),
        args=[service],
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
        next_run_time=datetime.now(UTC),  # a tick at start-up catches up after downtime
    )
    scheduler.start()
    return scheduler
