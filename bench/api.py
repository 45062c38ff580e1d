"""HTTP API benchmark: requests per second and p50/p99 latency under loopback load.

    .venv/bin/python bench/api.py [--events 50000] [--seconds 8] [--clients 2] [--batch 500]

Generates a demo database (seed 7, as of 2026-11-22) in bench/out/api/, creates
an API key, starts ``portalpulse serve --require-keys`` (uvicorn, one process)
on a free loopback port, then drives it from this process with ``--clients``
threads, each with its own keep-alive HTTP connection, for ``--seconds`` per
phase:

* ``GET /health`` — the reference: the server's floor (routing, JSON, HTTP);
* ``GET /api/metrics/kpis?range=last_30_days`` — auth (key lookup) + the KPI section;
* ``POST /api/events`` — batches of ``--batch`` new events (validation, upsert,
  re-sessionizing the touched user/portal pairs, commit).

Every request must succeed (the run fails otherwise); the events posted must be
in the database at the end. Client and server share the machine's cores, so the
figures are a lower bound on what the server does alone.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import count
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402

from metrics.db import connect, workspace_id  # noqa: E402
from metrics.demo import generate_demo  # noqa: E402
from metrics.ingest import Importer, import_folder  # noqa: E402
from metrics.ingest.contract import FILES_BY_NAME  # noqa: E402
from metrics.status import workspace_status  # noqa: E402
from web.auth import create_key  # noqa: E402

AS_OF = date(2026, 11, 22)
CLI = ROOT / ".venv" / "bin" / "portalpulse"


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def prepare(events: int) -> tuple[str, Path]:
    out = ROOT / "bench" / "out" / "api"
    folder = out / f"demo-{events}"
    if not (folder / "events.csv").exists():
        generate_demo(folder, seed=7, as_of=AS_OF, events=events)
    database = out / f"api-{events}-{os.getpid()}.db"
    url = f"sqlite:///{database}"
    started = time.perf_counter()
    import_folder(connect(url), folder)
    print(f"demo database: {events:,} events imported in {time.perf_counter() - started:.1f} s")
    return url, folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    command = [str(CLI), "serve", "--require-keys", "--port", str(port), "--db", url]
    log = (ROOT / "bench" / "out" / "api" / "server.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not become ready within 60 s")


def drive(
    name: str,
    base: str,
    key: str,
    clients: int,
    seconds: float,
    request: Callable[[httpx.Client], httpx.Response],
) -> Phase:
    """``clients`` threads calling ``request`` in a loop for ``seconds``."""
    phase = Phase(name)
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            request(client)  # warm the connection (not counted)
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = request(client)
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code == 200:
                        phase.latencies.append(elapsed)
                    else:
                        phase.failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - started
    if phase.failures:
        raise SystemExit(f"{name}: {len(phase.failures)} failed, e.g. {phase.failures[0]}")
    return phase


def event_batches(folder: Path, batch: int) -> Callable[[], list[dict[str, str]]]:
    """New events of invited users on their portals, later than anything stored."""
    with (folder / "invites.csv").open(newline="") as f:
        pairs = [(row["user_id"], row["project_id"]) for row in csv.DictReader(f)]
    numbers = count()
    clock = count()
    start = datetime.combine(AS_OF, datetime.min.time(), UTC) + timedelta(days=2)
    lock = threading.Lock()

    def make() -> list[dict[str, str]]:
        with lock:
            ids = [next(numbers) for _ in range(batch)]
            ticks = [next(clock) for _ in range(batch)]
        out = []
        for i, tick in zip(ids, ticks, strict=True):
            user, project = pairs[i % len(pairs)]
            at = start + timedelta(seconds=tick * 7)
            kind = ("login", "page_view", "page_view", "action")[i % 4]
            event = {"event_id": f"bench_{i}", "user_id": user, "project_id": project,
                     "occurred_at": at.isoformat(), "type": kind}  # fmt: skip
            if kind == "action":
                event["action"] = "pdf_open"
            out.append(event)
        return out

    return make


def time_in_process(engine: Engine, make: Callable[[], list[dict[str, str]]], runs: int) -> float:
    """Median seconds per batch for the importer alone: what the endpoint adds HTTP to."""
    spec = FILES_BY_NAME["events.csv"]
    times = []
    for _ in range(runs):
        records = make()
        started = time.perf_counter()
        with engine.connect() as conn, conn.begin():
            importer = Importer(conn, workspace_id(conn))
            importer.add_records(spec, records, first=0)
            importer.finish()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    url, folder = prepare(args.events)
    engine = connect(url)
    with engine.begin() as conn:
        key, _ = create_key(conn, "default", "bench")
        before = workspace_status(conn, "default").rows["events"]
    make = event_batches(folder, args.batch)
    in_process = time_in_process(engine, make, runs=5)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port)
    try:
        kpis_params = {"range": "last_30_days", "as_of": AS_OF.isoformat()}
        phases = [
            drive("GET /health", base, key, args.clients, args.seconds,
                  lambda c: c.get("/health")),
            drive("GET /api/metrics/kpis", base, key, args.clients, args.seconds,
                  lambda c: c.get("/api/metrics/kpis", params=kpis_params)),
            drive(f"POST /api/events ({args.batch}/batch)", base, key, args.clients,
                  args.seconds, lambda c: c.post("/api/events", json=make())),
        ]  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    with engine.connect() as conn:
        stored = workspace_status(conn, "default").rows["events"] - before
    engine.dispose()
    posted = len(phases[2].latencies) + args.clients + 5  # + warm-ups and in-process batches
    if stored != posted * args.batch:
        raise SystemExit(f"stored {stored:,} new events, expected {posted * args.batch:,}")
    Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    reference = phases[0].rps
    print(f"\n{args.clients} clients, {args.seconds:g} s per phase, {args.events:,}-event demo, "
          f"SQLite, API key required\n")  # fmt: skip
    print(f"{'endpoint':<34} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'vs /health':>10}")  # fmt: skip
    for phase in phases:
        print(f"{phase.name:<34} {len(phase.latencies):>9,} {phase.rps:>8,.1f} "
              f"{phase.percentile(0.50):>8.1f} {phase.percentile(0.99):>8.1f} "
              f"{phase.rps / reference:>10.3f}")  # fmt: skip
    events_per_s = phases[2].rps * args.batch
    print(f"\nevents ingested over HTTP: {events_per_s:,.0f} events/s "
          f"({stored:,} stored, sessions updated per batch); "
          f"median batch {statistics.median(phases[2].latencies) * 1000:.0f} ms")  # fmt: skip
    print(f"reference: the same batches through the importer in-process (no HTTP, one writer): "
          f"median {in_process * 1000:.0f} ms per batch, "
          f"{args.batch / in_process:,.0f} events/s")  # fmt: skip


if __name__ == "__main__":
    main()
