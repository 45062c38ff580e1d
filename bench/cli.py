"""CLI start-up benchmark: wall time of whole `portalpulse` processes, as a user runs them.

    .venv/bin/python bench/cli.py [--repeat 7] [--events 50000]

Builds the demo database once (`portalpulse demo`, default size, as of a fixed
date) under a temporary folder, then runs each command `--repeat` times as a
fresh process and prints min and median wall time beside `python -c pass` (the
interpreter's own start) and `python -c "import cli"` (the command tree).
Targets (issue 16): `--help` under 0.5 s, `metrics kpis --json` under 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTALPULSE = Path(sys.executable).parent / "portalpulse"
AS_OF = "2026-11-22"


def wall(command: list[str], repeat: int, cwd: Path) -> list[float]:
    """Seconds each of ``repeat`` runs of ``command`` took (its exit status is not checked:
    a usage error exits 2 on purpose)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        db = f"sqlite:///{cwd / 'demo.db'}"
        subprocess.run(
            [str(PORTALPULSE), "demo", "--db", db, "--as-of", AS_OF, "--events", str(args.events)],
            cwd=cwd,
            check=True,
            capture_output=True,
            env={**os.environ, "COLUMNS": "80"},
        )
        py, pp = sys.executable, str(PORTALPULSE)
        cases = [
            ("python -c pass", [py, "-c", "pass"]),
            ('python -c "import cli"', [py, "-c", "import cli"]),
            ("portalpulse --help", [pp, "--help"]),
            ("portalpulse nosuch (usage error)", [pp, "nosuch"]),
            ("portalpulse metrics kpis --json", [pp, "metrics", "kpis", "--json", "--db", db]),
            ("portalpulse metrics projects (table)", [pp, "metrics", "projects", "--db", db]),
        ]
        cpus = os.cpu_count()
        print(f"{args.events:,}-event demo database; {args.repeat} runs each; {cpus} CPUs")
        print(f"{'command':<40} {'min':>8} {'median':>8}")
        for name, command in cases:
            times = wall(command, args.repeat, cwd=ROOT if "import cli" in name else cwd)
            print(f"{name:<40} {min(times):>7.3f}s {statistics.median(times):>7.3f}s")


if __name__ == "__main__":
    main()
