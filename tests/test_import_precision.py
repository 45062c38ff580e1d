"""Import errors point at the real place, and one broken file does not drown the report
in follow-on errors (issue 15 item 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.ingest import ImportRejected, import_folder
from tests.conftest import Db


def _write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode()
        (folder / name).write_bytes(data)
    return folder


def _accounts(n: int) -> list[str]:
    return ["account_id,name,kind", *(f"a{i},Account {i},customer" for i in range(1, n + 1))]


def _users(n: int) -> list[str]:
    return ["user_id,account_id,name", *(f"u{i},a{i % 10 + 1},User {i}" for i in range(1, n + 1))]


def _errors(db: Db, folder: Path) -> list[str]:
    with pytest.raises(ImportRejected) as rejected:
        import_folder(db.engine, folder, workspace=db.workspace)
    return [str(e) for e in rejected.value.errors]


def test_an_unterminated_quote_is_reported_where_it_opens(db: Db, tmp_path: Path) -> None:
    lines = _accounts(51)
    lines[10] = 'a10,"Account 10,customer'  # line 11; the rest of the file is inside the quote
    folder = _write(tmp_path / "in", {"accounts.csv": "\n".join(lines) + "\n"})
    assert _errors(db, folder) == [
        "accounts.csv, line 11: malformed CSV: a quote opened in this record is never closed"
    ]


def test_a_record_spanning_lines_is_numbered_by_its_first_line(db: Db, tmp_path: Path) -> None:
    lines = _accounts(5)
    lines[2] = 'a2,"Two\nlines",customer'  # lines 3-4
    lines[4] = "a4,Four,vendor"  # line 6 in the file
    folder = _write(tmp_path / "in", {"accounts.csv": "\n".join(lines) + "\n"})
    (error,) = _errors(db, folder)
    assert error.startswith("accounts.csv, line 6, column kind:")


def test_a_file_cut_short_by_a_bad_byte_gives_one_error(db: Db, tmp_path: Path) -> None:
    users = "\n".join(_users(60)).encode().replace(b"User 5\n", b"User \xff5\n")
    events = ["event_id,user_id,project_id,occurred_at,type"]
    events += [f"e{i},u{i},,2026-03-01T10:00:00Z,login" for i in range(1, 61)]
    folder = _write(
        tmp_path / "in",
        {
            "accounts.csv": "\n".join(_accounts(10)) + "\n",
            "users.csv": users,
            "events.csv": "\n".join(events) + "\n",
        },
    )
    errors = _errors(db, folder)
    assert len(errors) == 1 and errors[0].startswith("users.csv, line 6: not UTF-8 text")


def test_a_field_over_the_size_limit_gives_one_error(db: Db, tmp_path: Path) -> None:
    lines = _accounts(10)
    lines[3] = f"a3,{'x' * 200_000},customer"  # line 4
    folder = _write(
        tmp_path / "in",
        {"accounts.csv": "\n".join(lines) + "\n", "users.csv": "\n".join(_users(40)) + "\n"},
    )
    errors = _errors(db, folder)
    assert len(errors) == 1, errors
    assert errors[0].startswith("accounts.csv, line 4: malformed CSV")
    assert "field larger than field limit" in errors[0]


def test_a_missing_file_has_no_line(db: Db, tmp_path: Path) -> None:
    folder = _write(tmp_path / "in", {"users.csv": "\n".join(_users(2)) + "\n"})
    assert _errors(db, folder) == ["accounts.csv: required file is missing"]
