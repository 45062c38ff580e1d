"""What used to be accepted silently (issue 15 item 10): a column twice in a header and an
id twice in one file (the last row won) are refused with file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.ingest import ImportRejected, import_folder
from tests.conftest import Db, write_folder

BASE = {
    "accounts.csv": """account_id,name,kind
        a1,Acme,customer
        a2,Beta,customer""",
    "users.csv": """user_id,account_id,name
        u1,a1,Ann""",
}


def _errors(db: Db, folder: Path) -> list[str]:
    with pytest.raises(ImportRejected) as rejected:
        import_folder(db.engine, folder, workspace=db.workspace)
    return [str(e) for e in rejected.value.errors]


def test_a_column_twice_in_the_header_is_refused(db: Db, tmp_path: Path) -> None:
    files = {**BASE, "accounts.csv": "account_id,name,kind,Name\na1,Acme,customer,Other"}
    assert _errors(db, write_folder(tmp_path / "in", files)) == [
        "accounts.csv, line 1, column name: column appears 2 times in the header "
        "(positions 2, 4); keep one"
    ]


def test_an_id_twice_in_a_small_file_is_refused(db: Db, tmp_path: Path) -> None:
    files = {**BASE, "users.csv": "user_id,account_id,name\nu1,a1,Ann\nu2,a1,Bo\nu1,a2,Ann B"}
    assert _errors(db, write_folder(tmp_path / "in", files)) == [
        "users.csv, line 4, column user_id: duplicate user_id 'u1': already on line 2 "
        "(an id may appear once per file; a later import updates it)"
    ]


@pytest.mark.parametrize("quoted", [False, True], ids=["column-wise", "row-wise"])
def test_an_event_id_twice_is_refused_on_every_reading_path(
    db: Db, tmp_path: Path, quoted: bool
) -> None:
    rows = [f"e{i},u1,,2026-03-01T10:{i:02d}:00Z,page_view" for i in range(40)]
    rows.append("e7,u1,,2026-03-02T10:00:00Z,login")  # line 42
    if quoted:
        rows[0] = rows[0].replace("e0", '"e0"')
    events = "event_id,user_id,project_id,occurred_at,type\n" + "\n".join(rows)
    errors = _errors(db, write_folder(tmp_path / "in", {**BASE, "events.csv": events}))
    assert errors == [
        "events.csv, line 42, column event_id: duplicate event_id 'e7': already on line 9 "
        "(an id may appear once per file; a later import updates it)"
    ]


def test_the_same_ids_in_a_later_import_still_update(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "one", BASE), workspace=db.workspace)
    changed = {**BASE, "accounts.csv": "account_id,name,kind\na1,Acme Renamed,customer"}
    report = import_folder(
        db.engine, write_folder(tmp_path / "two", changed), workspace=db.workspace
    )
    assert report.rows["accounts.csv"] == 1


def test_an_id_twice_in_one_request_is_a_precise_error(db: Db) -> None:
    from metrics.db import workspace_id
    from metrics.ingest import Importer
    from metrics.ingest.contract import FILES_BY_NAME

    with db.engine.connect() as conn, conn.begin():
        importer = Importer(conn, workspace_id(conn, db.workspace))
        records = [{"account_id": "a1", "name": "A", "kind": "customer"}] * 2
        importer.add_records(FILES_BY_NAME["accounts.csv"], records, first=0)
        with pytest.raises(ImportRejected) as rejected:
            importer.finish()
    (error,) = rejected.value.errors
    assert (error.line, error.column) == (1, "account_id")
    assert "already on item 0" in error.message
