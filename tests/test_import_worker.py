"""Large files that the column-wise reader cannot take (quoted ones) are parsed in a worker
process: same rows, same errors, same all-or-nothing as in the main process."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from metrics.ingest import ImportRejected, import_folder
from metrics.ingest import importer as importer_module
from metrics.ingest.csvfile import plan_blocks
from metrics.status import workspace_status
from tests.conftest import Db, write_folder
from tests.test_import import GOOD


def _import(db: Db, folder: Path, *, worker: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(importer_module, "COLUMNAR_MIN_BYTES", 1 << 60)  # the row paths only
    monkeypatch.setattr(importer_module, "PARALLEL_MIN_BYTES", 0 if worker else 1 << 60)
    return import_folder(db.engine, folder, workspace=db.workspace + str(worker))


def test_blocks_cut_whole_lines_and_refuse_quoted_files(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(b"event_id,user_id\n" + b"".join(b"e%d,u1\n" % i for i in range(100)))
    blocks = plan_blocks(path, 50)
    assert blocks is not None and len(blocks) > 5
    data = path.read_bytes()
    assert blocks[0][0] == data.index(b"\n") + 1 and blocks[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
    assert all(data[end - 1 : end] == b"\n" for _, end in blocks)
    path.write_bytes(b'event_id,user_id\ne1,"u\n1"\n')
    assert plan_blocks(path, 4) is None


def test_worker_and_in_process_store_the_same(db: Db, tmp_path: Path, monkeypatch) -> None:
    rows = "\n".join(
        f"w{i},u{1 + i % 2},{'p1' if i % 3 else ''},2026-02-0{1 + i % 9}T1{i % 10}:0{i % 6}:00Z,"
        f"{('login', 'page_view', 'action')[i % 3]},{'search' if i % 3 == 2 else ''},,,desktop"
        for i in range(45_000)
    )
    files = dict(GOOD, **{"events.csv": GOOD["events.csv"] + "\n" + rows})
    files["invites.csv"] = GOOD["invites.csv"]
    folder = write_folder(tmp_path / "in", files)
    reports = [_import(db, folder, worker=w, monkeypatch=monkeypatch) for w in (True, False)]
    assert reports[0].rows == reports[1].rows
    assert reports[0].sessions_written == reports[1].sessions_written > 0
    with db.engine.connect() as conn:
        assert (
            workspace_status(conn, db.workspace + "True").rows
            == workspace_status(conn, db.workspace + "False").rows
        )


def test_worker_reports_the_same_errors(db: Db, tmp_path: Path, monkeypatch) -> None:
    files = dict(GOOD)
    files["events.csv"] = (
        GOOD["events.csv"].replace(
            "e2,u1,p1,2026-02-03T10:05:00Z,page_view", "e2,u7,p1,2026-02-03T10:05:00Z,page_view"
        )
        + "\ne5,u1,p1,not-a-time,login,,,,,\ne6,u1,p1,2026-02-03T10:05:00Z,click,,,,,"
    )
    folder = write_folder(tmp_path / "in", files)
    messages = []
    for worker in (True, False):
        with pytest.raises(ImportRejected) as caught:
            _import(db, folder, worker=worker, monkeypatch=monkeypatch)
        messages.append([str(e) for e in caught.value.errors])
    assert messages[0] == messages[1]
    assert messages[0] == [
        "events.csv, line 3, column user_id: unknown user 'u7'",
        "events.csv, line 7, column occurred_at: 'not-a-time' is not an ISO 8601 timestamp",
        "events.csv, line 8, column type: 'click' is not one of login, page_view, action",
    ]
    with db.engine.connect() as conn:
        for worker in (True, False):
            with pytest.raises(Exception, match="unknown workspace"):
                workspace_status(conn, db.workspace + str(worker))


def test_worker_reports_bad_bytes_on_their_line(db: Db, tmp_path: Path, monkeypatch) -> None:
    folder = write_folder(tmp_path / "in", GOOD)
    events = (
        folder / "events.csv"
    ).read_bytes() + b"e9,u1,p1,2026-02-03T10:00:00Z,login,,,,d\xe9sktop\n"
    (folder / "events.csv").write_bytes(events)
    with pytest.raises(ImportRejected) as caught:
        _import(db, folder, worker=True, monkeypatch=monkeypatch)
    assert [str(e) for e in caught.value.errors] == [
        "events.csv, line 6: not UTF-8 text: byte 0xe9 at position 41"
    ]
