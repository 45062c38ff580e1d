"""Every metrics section as a terminal table at 80 columns, on demo data."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cli.metrics import SECTIONS
from metrics.db import connect
from metrics.demo import generate_demo
from metrics.ingest import import_folder

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("render")
    url = f"sqlite:///{root / 'r.db'}"
    generate_demo(root / "csv", seed=4, as_of=date(2026, 11, 22), events=3000)
    import_folder(connect(url), root / "csv")
    return url


@pytest.mark.parametrize("section", SECTIONS)
def test_every_section_prints_a_table_that_fits_80_columns(db: str, section: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "metrics", section,
         "--db", db, "--as-of", "2026-11-22"],
        capture_output=True, text=True, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "80"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{section} · ") and "as of end of 22 Nov 2026" in lines[0]
    assert max(len(line) for line in lines) <= 80
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", done.stdout), "an ISO timestamp"
    assert "…" not in done.stdout  # nothing cut
    assert not re.search(r"\b(in_progress|not_started|on_hold|link_click)\b", done.stdout)
