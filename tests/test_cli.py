"""The command line: clear messages and exit codes, never a traceback for user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_folder

GOOD = {
    "accounts.csv": "account_id,name,kind\nacme,Acme,customer",
    "users.csv": "user_id,account_id,name\nu1,acme,Ann",
    "projects.csv": "project_id,account_id,name,status\np1,acme,Rollout,live",
    "events.csv": "event_id,user_id,project_id,occurred_at,type\n"
    "e1,u1,p1,2026-03-01T10:00:00Z,login",
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent)},
    )


def test_import_then_metrics_json(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", GOOD)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    done = run("import", str(folder), "--db", db, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 sessions written" in done.stdout.replace(",", "")
    shown = run(
        "metrics",
        "kpis",
        "--db",
        db,
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-01",
        "--as-of",
        "2026-03-05",
        "--json",
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["kpis"]["logins"] == 1 and data["kpis"]["sessions"] == 1
    assert data["scope"]["from"] == "2026-03-01T00:00:00Z"


def test_default_database_is_a_file_in_the_working_folder(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", GOOD)
    assert run("import", str(folder), "--quiet", cwd=tmp_path).returncode == 0
    assert (tmp_path / "portalpulse.db").exists()


def test_rejected_import_prints_every_error_and_exits_1(tmp_path: Path) -> None:
    bad = dict(
        GOOD, **{"events.csv": GOOD["events.csv"].replace("login", "logon") + "\ne2,u9,p1,x,login"}
    )
    folder = write_folder(tmp_path / "in", bad)
    done = run("import", str(folder), "--db", f"sqlite:///{tmp_path / 'x.db'}", "-q", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert (
        "events.csv, line 2, column type: 'logon' is not one of login, page_view, action"
        in done.stderr
    )
    assert "events.csv, line 3, column user_id: unknown user 'u9'" in done.stderr
    assert "events.csv, line 3, column occurred_at: 'x' is not an ISO 8601 timestamp" in done.stderr
    assert "Nothing was imported." in done.stderr


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    assert (
        run("import", str(write_folder(tmp_path / "in", GOOD)), "-q", cwd=tmp_path).returncode == 0
    )
    cases = [
        (("import", str(tmp_path / "missing")), "no such folder"),
        (("metrics", "kpis", "--range", "last_week"), "unknown range 'last_week'"),
        (("metrics", "kpis", "--db", "nosuchdb://x"), "database"),
        (("metrics", "kpis", "--workspace", "ghost"), "unknown workspace 'ghost'"),
        (("metrics", "bogus"), "unknown section 'bogus'"),
    ]
    for args, message in cases:
        done = run(*args, cwd=tmp_path)
        assert done.returncode != 0, args
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr, (args, done.stderr)
