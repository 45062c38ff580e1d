"""Mixed load on the HTTP API: dashboard metrics, asks and event posts at once.

    .venv/bin/python bench/load.py [--clients 8] [--seconds 60] [--events 50000]
                                   [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds a demo database (seed 7, as of 2026-11-22) on SQLite — and, with ``--pg``,
in a throwaway schema of that PostgreSQL database too — starts ``portalpulse
serve --require-keys`` on a free loopback port and drives it with ``--clients``
threads (each its own keep-alive connection) for ``--seconds``. Each client
repeats a cycle of 10 requests: 6 dashboard calls (kpis, trends, projects,
leaderboard, risks, adoption over ``last_30_days``), 1 ``POST /api/ask`` (the
offline planner; a new conversation every time) and 3 ``POST /api/events`` of 20
new events each. Any response other than 200 is an error (a 503 included); at
the end every event whose batch was acknowledged must be in the database.
Prints throughput, p50/p99 per kind and the error count per backend; exits 1 if
there was any error or a lost event.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api import AS_OF, event_batches, free_port, start_server  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from metrics.db import connect  # noqa: E402
from metrics.demo import generate_demo  # noqa: E402
from metrics.ingest import import_folder  # noqa: E402
from web.auth import create_key  # noqa: E402

SECTIONS = ("kpis", "trends", "projects", "leaderboard", "risks", "adoption")
QUESTIONS = (
    "how many logins in the last 30 days?",
    "top 5 partners",
    "who never logged in?",
    "which projects have overdue tasks?",
    "average session duration this month",
)
BATCH = 20


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, kind: str, p: float) -> float:
        ordered = sorted(self.latencies[kind])
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


def demo_folder(events: int) -> Path:
    (ROOT / "bench" / "out" / "api").mkdir(parents=True, exist_ok=True)  # the server's log
    folder = ROOT / "bench" / "out" / "load" / f"demo-{events}"
    if not (folder / "events.csv").exists():
        generate_demo(folder, seed=7, as_of=AS_OF, events=events)
    return folder


def database(backend: str, folder: Path, pg: str | None) -> tuple[str, Callable[[], None]]:
    """A fresh database with the demo loaded; its URL and how to drop it."""
    if backend == "sqlite":
        path = ROOT / "bench" / "out" / "load" / f"load-{os.getpid()}.db"
        url = f"sqlite:///{path}"

        def drop() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        assert pg is not None
        schema = f"pp_load_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"

        def drop() -> None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()

    started = time.perf_counter()
    import_folder(connect(url), folder)
    print(f"{backend}: demo imported in {time.perf_counter() - started:.1f} s")
    return url, drop


def request(
    http: httpx.Client, step: int, turn: int, make: Callable[[], list[dict[str, str]]]
) -> tuple[str, list[dict[str, str]], Callable[[], httpx.Response]]:
    """Step ``step`` of a client's 10-request cycle: its kind, the events it posts, the call."""
    if step in (2, 5, 8):
        batch = make()
        return "events", batch, lambda: http.post("/api/events", json=batch)
    if step == 9:
        body = {"question": QUESTIONS[turn % len(QUESTIONS)], "as_of": AS_OF.isoformat()}
        return "ask", [], lambda: http.post("/api/ask", json=body)
    section = SECTIONS[(step + turn) % len(SECTIONS)]
    params = {"range": "last_30_days", "as_of": AS_OF.isoformat()}
    return "metrics", [], lambda: http.get(f"/api/metrics/{section}", params=params)


def run(url: str, folder: Path, clients: int, seconds: float) -> Tally:
    engine = connect(url)
    with engine.begin() as conn:
        key, _ = create_key(conn, "default", "load")
    make = event_batches(folder, BATCH)
    port = free_port()
    server = start_server(url, port)
    tally = Tally()
    lock = threading.Lock()
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as c:
            c.post("/api/ask", json={"question": QUESTIONS[0]})  # load the planner first
        stop = time.monotonic() + seconds

        def client(number: int) -> None:
            cycle = 0
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                while time.monotonic() < stop:
                    for step in range(10):
                        kind, batch, send = request(http, step, cycle + number, make)
                        started = time.perf_counter()
                        try:
                            status: int | str = send().status_code
                        except httpx.HTTPError as exc:
                            status = type(exc).__name__
                        elapsed = time.perf_counter() - started
                        with lock:
                            if status == 200:
                                tally.latencies[kind].append(elapsed)
                                tally.acknowledged += [e["event_id"] for e in batch]
                            else:
                                tally.errors[f"{kind} {status}"] += 1
                    cycle += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        tally.seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    with engine.connect() as conn:
        stored = set(
            conn.scalars(text("SELECT event_id FROM events WHERE event_id LIKE 'bench_%'"))
        )
    engine.dispose()
    lost = [e for e in tally.acknowledged if e not in stored]
    if lost:
        tally.errors["acknowledged event not stored"] += len(lost)
    return tally


def report(backend: str, tally: Tally, clients: int) -> None:
    total = sum(len(v) for v in tally.latencies.values())
    print(f"\n{backend}: {clients} clients, {tally.seconds:.0f} s, {total:,} requests OK "
          f"({total / tally.seconds:,.1f} req/s), errors: {sum(tally.errors.values())} "
          f"{dict(tally.errors) or ''}")  # fmt: skip
    print(f"{'kind':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in ("metrics", "ask", "events"):
        done = len(tally.latencies[kind])
        p50, p99 = tally.percentile(kind, 0.5), tally.percentile(kind, 0.99)
        print(f"{kind:<10} {done:>9,} {done / tally.seconds:>8,.1f} {p50:>8.0f} {p99:>8.0f}")
    print(f"events acknowledged and stored: {len(tally.acknowledged):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--pg", help="a PostgreSQL URL: also run there (throwaway schema)")
    parser.add_argument("--only", choices=("sqlite", "postgres"), help="one backend only")
    args = parser.parse_args()
    folder = demo_folder(args.events)
    backends = ["sqlite"] + (["postgres"] if args.pg else [])
    if args.only:
        backends = [args.only]
    failed = False
    for backend in backends:
        url, drop = database(backend, folder, args.pg)
        try:
            tally = run(url, folder, args.clients, args.seconds)
        finally:
            drop()
        report(backend, tally, args.clients)
        failed |= bool(tally.errors)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
