"""Digest benchmark: build and send 500 digests on the 10M-event database to a loopback sink.

    .venv/bin/python bench/digest.py [--events 10000000] [--recipients 500]

Uses the cached demo database of ``bench/metrics.py`` (built once in bench/out/),
copied to ``bench/out/digest-<events>.db`` so the cache stays untouched. Adds
``--recipients`` synthetic team members, each subscribed to the book of one of
the demo's owners or (every third) to a team of two or three of them, then times
one ``DigestService.send`` for ISO week 2026-W47 (the demo's as-of is Sunday
22 November 2026) with offline summaries, to an aiosmtpd sink on 127.0.0.1.

Printed: total and per-recipient time, where it goes (content, summary, chart,
MIME rendering, SMTP), and the reference — one ``kpis`` section call over one
recipient's week — for the ratio per recipient ÷ reference.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import socket
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import delete, insert  # noqa: E402

import assistant.digest.service as service_module  # noqa: E402
from assistant.digest import DigestService, DigestSettings, store  # noqa: E402
from assistant.digest.delivery import SmtpMailer  # noqa: E402
from assistant.digest.weeks import parse_week  # noqa: E402
from metrics.app_models import Digest, DigestSubscription  # noqa: E402
from metrics.db import connect, workspace_id  # noqa: E402
from metrics.models import TeamMember  # noqa: E402
from metrics.scope import resolve_scope  # noqa: E402
from metrics.sections import kpis  # noqa: E402

WEEK = parse_week("2026-W47")


def cached_database(events: int) -> Path:
    spec = importlib.util.spec_from_file_location("bench_metrics", ROOT / "bench" / "metrics.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    _, url = module.prepare(events)
    source = Path(url.removeprefix("sqlite:///"))
    copy = source.with_name(f"digest-{events}.db")
    if not copy.exists() or copy.stat().st_mtime < source.stat().st_mtime:
        print(f"copying {source.name} → {copy.name} …", flush=True)
        shutil.copyfile(source, copy)
    return copy


class CountingSink:
    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        self.bytes += len(envelope.content)
        return "250 OK"


def subscribe_synthetic(engine: Any, ws: int, recipients: int) -> list[str]:
    """``recipients`` synthetic members spread over the demo's owners and teams."""
    with engine.begin() as conn:
        conn.execute(delete(Digest).where(Digest.workspace_id == ws))
        conn.execute(delete(DigestSubscription).where(DigestSubscription.workspace_id == ws))
        conn.execute(
            delete(TeamMember).where(
                TeamMember.workspace_id == ws, TeamMember.member_id.like("bench_%")
            )
        )
        owners = sorted(store.members(conn, ws))
        conn.execute(
            insert(TeamMember),
            [
                {
                    "workspace_id": ws,
                    "member_id": f"bench_{i:04d}",
                    "name": f"Bench Recipient {i}",
                    "email": f"bench{i}@digest.bench",
                }
                for i in range(recipients)
            ],
        )
        for i in range(recipients):
            first = owners[i % len(owners)]
            team = [first] if i % 3 else [first, *owners[(i + 1) % len(owners) :][:2]]
            store.subscribe(conn, ws, f"bench_{i:04d}", team=team)
    return owners


def timed(phases: dict[str, list[float]], name: str, fn: Callable) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name].append(time.perf_counter() - started)

    return wrapper


def reference(engine: Any, ws: int, owner: str, runs: int = 5) -> float:
    """Median of one kpis section call over one owner's week (warm)."""
    times = []
    with engine.connect() as conn:
        scope = resolve_scope(
            conn, ws, start=WEEK.monday, end=WEEK.sunday, as_of=WEEK.sunday, owner=owner
        )
        kpis.compute(conn, scope)
        for _ in range(runs):
            started = time.perf_counter()
            kpis.compute(conn, scope)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--workers", type=int, default=DigestSettings.workers)
    args = parser.parse_args()

    database = cached_database(args.events)
    engine = connect(f"sqlite:///{database}")
    with engine.connect() as conn:
        ws = workspace_id(conn, create=False)
    owners = subscribe_synthetic(engine, ws, args.recipients)
    print(
        f"{args.recipients} subscriptions over {len(owners)} owners; week {WEEK}; "
        f"{args.workers} worker(s)",
        flush=True,
    )

    phases: dict[str, list[float]] = defaultdict(list)
    for name in ("build_content", "summarize", "trend_png", "build_message"):
        setattr(service_module, name, timed(phases, name, getattr(service_module, name)))

    handler = CountingSink()
    with socket.socket() as probe:  # a free port (aiosmtpd's start-up check needs a real one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = DigestSettings(
            smtp_host="127.0.0.1",
            smtp_port=port,
            secret="bench",
            base_url="http://bench",
            workers=args.workers,
        )

        def mailer(settings: DigestSettings) -> SmtpMailer:
            smtp = SmtpMailer(settings)
            smtp.send = timed(phases, "smtp", smtp.send)  # type: ignore[method-assign]
            return smtp

        service = DigestService(engine, ws, "default", settings, llm=None, mailer_factory=mailer)
        started = time.perf_counter()
        report = service.send(week=WEEK)
        total = time.perf_counter() - started
    finally:
        controller.stop()

    ref = reference(engine, ws, owners[0])
    n = len(report.outcomes)
    per = total / n
    print(report.line())
    print(
        f"messages received by the sink: {handler.count} ({handler.bytes / n / 1024:.0f} KiB each)"
    )
    print(f"total {total:.1f} s; per recipient {per * 1000:.0f} ms")
    for name in ("build_content", "summarize", "trend_png", "build_message", "smtp"):
        values = phases[name]
        print(
            f"  {name:14} mean {statistics.mean(values) * 1000:7.1f} ms   "
            f"p95 {sorted(values)[int(len(values) * 0.95) - 1] * 1000:7.1f} ms"
        )
    print(f"reference: one kpis call over one owner's week {ref * 1000:.1f} ms")
    print(f"per recipient ÷ reference: {per / ref:.1f}")
    assert handler.count == report.count("sent") == n, "every digest must be delivered once"


if __name__ == "__main__":
    main()
