"""First answer after `portalpulse serve` starts: what the dashboard's opening analysis waits.

    .venv/bin/python bench/first_answer.py [--events 50000] [--restarts 2]

Loads the demo into a fresh SQLite file, starts `portalpulse serve` as a user
does, and the moment `/health` answers posts the page's opening analysis question
to `/api/ask/stream` (as the page does once its sections loaded), timing the
first `token` and the `final` event. The first start also builds the example
index beside the database; `--restarts` more starts reuse it (a restart). The
server warms the assistant in the background from its start (`Runtime.warm`).
Target (issue 16): first analysis under 5 s; before: ~30 s first, ~6.5 s restart.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PORTALPULSE = Path(sys.executable).parent / "portalpulse"
AS_OF = "2026-11-22"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(db: str, cwd: Path) -> tuple[float, float, float]:
    """Seconds to /health, to the first token and to the final answer (the last two
    counted from the moment /health answered)."""
    from web.suggest import suggestions

    question = suggestions("overview", range_="last_30_days")["analysis"]
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(PORTALPULSE), "serve", "--db", db, "--port", str(port)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "100"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            ready = time.perf_counter()
            first = final = None
            body = {"question": question, "as_of": AS_OF}
            with client.stream("POST", "/api/ask/stream", json=body) as response:
                for line in response.iter_lines():
                    if line == "event: token" and first is None:
                        first = time.perf_counter()
                    if line.startswith("data: ") and final is None and first is not None:
                        data = json.loads(line.removeprefix("data: "))
                        if "answer" in data:
                            final = time.perf_counter()
            return ready - started, (first or ready) - ready, (final or ready) - ready
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--restarts", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        db = f"sqlite:///{cwd / 'demo.db'}"
        subprocess.run(
            [str(PORTALPULSE), "demo", "--db", db, "--as-of", AS_OF, "--events", str(args.events)],
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        print(f"{args.events:,}-event demo; {os.cpu_count()} CPUs; times in seconds")
        print(f"{'start':<22} {'to /health':>11} {'first token':>12} {'final':>8}")
        for i in range(1 + args.restarts):
            health, token, final = one_start(db, cwd)
            name = "first (index built)" if i == 0 else f"restart {i}"
            print(f"{name:<22} {health:>11.2f} {token:>12.2f} {final:>8.2f}")


if __name__ == "__main__":
    main()
