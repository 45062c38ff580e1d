"""The column-wise fast path stores exactly what the row validator stores, and rejects alike.

Every test imports the same folder twice — once through the row validator only,
once cut into small blocks for the column-wise reader — and compares what was
stored (events, sessions, day counts) or the errors reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from metrics.db import DatabaseError, workspace_id
from metrics.ingest import ImportRejected, columnar, import_folder
from metrics.ingest import importer as importer_module
from metrics.ingest.contract import FILES_BY_NAME, parse_timestamp
from metrics.ingest.csvfile import plan_blocks
from metrics.ingest.sessions import rebuild_all
from tests.conftest import Db, write_folder
from tests.test_import import GOOD

HEADER = "event_id,user_id,project_id,occurred_at,type,action,room_id,resource_id,device"


def _import(engine: Engine, folder: Path, workspace: str, *, fast: bool, block: int) -> object:
    """Import with (fast) or without the column-wise reader; the outcome or the rejection."""
    saved = importer_module.COLUMNAR_MIN_BYTES, columnar.BLOCK_BYTES
    importer_module.COLUMNAR_MIN_BYTES = 0 if fast else 1 << 60
    columnar.BLOCK_BYTES = block
    try:
        return import_folder(engine, folder, workspace=workspace)
    except ImportRejected as rejected:
        return [str(e) for e in rejected.errors]
    finally:
        importer_module.COLUMNAR_MIN_BYTES, columnar.BLOCK_BYTES = saved


def stored(engine: Engine, workspace: str) -> dict[str, list[tuple]]:
    """Every derived and stored row of a workspace, without its id."""
    queries = {
        "events": "SELECT event_id, user_id, project_id, occurred_at, type, action, room_id,"
        " resource_id, device FROM events WHERE workspace_id = :ws ORDER BY event_id",
        "sessions": "SELECT user_id, project_id, started_at, ended_at, duration_ms, events,"
        " logins, page_views, actions, device FROM sessions WHERE workspace_id = :ws"
        " ORDER BY user_id, project_id, started_at",
        "days": "SELECT user_id, project_id, day, logins, page_views, actions FROM daily_activity"
        " WHERE workspace_id = :ws ORDER BY user_id, project_id, day",
        "tasks": "SELECT task_id, due_on, completed_at, created_at FROM tasks"
        " WHERE workspace_id = :ws ORDER BY task_id",
    }
    with engine.connect() as conn:
        ws = workspace_id(conn, workspace, create=False)
        return {
            name: [tuple(r) for r in conn.execute(text(q), {"ws": ws})]
            for name, q in queries.items()
        }


def both_ways(
    db: Db, folder: Path, workspace: str | None = None, *, block: int = 120
) -> tuple[object, object]:
    """(row path, fast path) outcomes; when both loaded, their stored rows must be equal.

    The fast path reads blocks of about ``block`` bytes (by default two or three
    lines, so that fast and row-validated blocks mix)."""
    workspace = workspace or db.workspace
    slow = _import(db.engine, folder, workspace + "_rows", fast=False, block=block)
    fast = _import(db.engine, folder, workspace + "_fast", fast=True, block=block)
    if isinstance(slow, list) or isinstance(fast, list):
        assert fast == slow
    else:
        assert fast.rows == slow.rows
        assert fast.sessions_written == slow.sessions_written
        assert stored(db.engine, workspace + "_fast") == stored(db.engine, workspace + "_rows")
    return slow, fast


# -- cells: plain ones, and every way a cell can be unusual or wrong ----------------

DAYS = ["2026-02-03", "2026-02-04", "2026-02-28"]
CLOCKS = ["10:00", "10:00:00", "10:29:59", "23:59:59.5", "00:00:00.123456", "09:15:00.25"]
ZONES = ["", "Z", "+01:00", "-05:30", "+0100", "+00:00"]
ODD_TIMES = [
    "2026-02-03",  # a date alone: midnight UTC, read by the row validator
    "20260203T100000Z",  # basic format
    "2026-02-03T10:00:00.1234567Z",  # more than microseconds
    "2026-02-30T10:00:00Z",  # no such day
    "2026-02-03T24:00:00Z",
    "2026-02-03T10:00:00+24:00",
    "not-a-time",
    "",
]


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 10)) == 0:
        return draw(st.sampled_from(ODD_TIMES))
    sep = draw(st.sampled_from(["T", " "]))
    return f"{draw(st.sampled_from(DAYS))}{sep}{draw(st.sampled_from(CLOCKS))}" + draw(
        st.sampled_from(ZONES)
    )


def cell(good: tuple[str, ...], bad: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Mostly good values; a bad one about one time in twenty."""
    return st.sampled_from(good * (20 // len(good) + 1) + bad)


@st.composite
def event_rows(draw: st.DrawFn) -> str:
    values = [
        draw(cell(("e1", "e2", "e3", "e4", "e5", " e6 ", "e7", "e8", "e9"))),
        draw(cell(("u1", "u2", "u3", " u1", "u2\t"), ("u7", ""))),
        draw(cell(("p1", "p2", "", " p1 "), ("p9",))),
        draw(timestamps()),
        draw(cell(("login", "page_view", "LOGIN", " Page_View "), ("click", ""))),
        draw(cell(("", "search", "Video_Play"), ("bogus",))),
        draw(cell(("", "r1"), ("r9",))),
        draw(cell(("", "res1"), ("resX",))),
        draw(cell(("", "desktop", "Mobile", "tablet"), ("phone", "dé"))),
    ]
    if values[5].strip():
        values[4] = draw(cell(("action", " Action")))
    shape = draw(st.integers(0, 30))
    if shape == 0:
        values = values[: draw(st.integers(4, 8))]  # a short row: missing cells are empty
    elif shape == 1:
        values.append("extra")  # one value too many
    elif shape == 2:
        values[0] = '"' + values[0] + '"'  # quoted: the row validator's business
    return ",".join(values)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(event_rows(), min_size=1, max_size=12),
    newline=st.sampled_from(["\n", "\r\n"]),
    blank=st.booleans(),
)
def test_fast_and_row_paths_agree_on_any_events_file(
    sqlite_db: Db, tmp_path_factory: pytest.TempPathFactory, rows, newline, blank
) -> None:
    folder = write_folder(tmp_path_factory.mktemp("in"), dict(GOOD))
    lines = [HEADER, *rows] + (["", "   "] if blank else [])
    (folder / "events.csv").write_bytes(newline.join(lines).encode() + newline.encode())
    both_ways(sqlite_db, folder, f"{sqlite_db.workspace}_{folder.name}")


def test_a_large_plain_file_loads_fast_and_equal(db: Db, tmp_path: Path) -> None:
    rows = [
        f"w{i},u{1 + i % 3},{'p1' if i % 4 else ''},2026-02-0{1 + i % 9}T1{i % 10}:{i % 60:02}:00"
        f"{'Z' if i % 2 else '+02:00'},{('login', 'page_view', 'action')[i % 3]},"
        f"{'search' if i % 3 == 2 else ''},{'r1' if i % 5 == 0 else ''},,"
        f"{('desktop', 'mobile', '')[i % 3]}"
        for i in range(3_000)
    ]
    files = dict(GOOD, **{"events.csv": "\n".join([HEADER, *rows])})
    _slow, fast = both_ways(db, write_folder(tmp_path / "in", files), block=8_000)
    assert fast.events == 3_000 and fast.sessions_written > 100


def test_the_same_errors_are_reported(db: Db, tmp_path: Path) -> None:
    files = dict(GOOD)
    files["events.csv"] = (
        GOOD["events.csv"].replace("e2,u1,p1", "e2,u7,p1")
        + "\ne5,u1,p1,not-a-time,login,,,,,\ne6,u1,p1,2026-02-03T10:05:00Z,click,,,,,"
        + "\ne7,u1,p1,2026-02-03T10:05:00Z,action,,,,,"
    )
    _slow, fast = both_ways(db, write_folder(tmp_path / "in", files))
    assert fast == [
        "events.csv, line 3, column user_id: unknown user 'u7'",
        "events.csv, line 7, column occurred_at: 'not-a-time' is not an ISO 8601 timestamp",
        "events.csv, line 8, column type: 'click' is not one of login, page_view, action",
        "events.csv, line 9, column action: an event of type 'action' needs an action kind",
    ]


def test_dates_and_optional_timestamps_of_tasks(db: Db, tmp_path: Path) -> None:
    files = dict(GOOD)
    files["tasks.csv"] = """
        task_id,project_id,title,assignee_user_id,due_on,completed_at,created_at
        t1,p1,Connect SSO,u1,2026-02-10,,2026-02-01T00:00:00Z
        t2,p1,Import contacts,,,2026-02-05 12:00:00.5+01:00,
        t3,p2,Train the team,u2,2024-02-29,1969-12-31T23:59:59.999Z,2026-02-01
    """
    _slow, fast = both_ways(db, write_folder(tmp_path / "in", files))
    assert fast.rows["tasks.csv"] == 3


# -- pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "plain"),
    [
        (b"e1,u1\ne2,u2\n", True),
        (b"e1,u1\r\ne2,u2\r\n", True),
        (b"e1,u1\te\n", True),
        (b'e1,"u1"\n', False),
        (b"e1,u\xc3\xa9\n", False),
        (b"e1,u1\re2,u2\n", False),
        (b"e1,u\x0c1\n", False),
    ],
)
def test_plain_blocks(block: bytes, plain: bool) -> None:
    assert columnar.plain(block) is plain


@pytest.mark.parametrize(
    "value",
    [f"{d}{sep}{c}{z}" for d in DAYS for sep in "T " for c in CLOCKS for z in ZONES],
)
def test_fast_timestamps_equal_the_contract_parser(value: str) -> None:
    spec = FILES_BY_NAME["invites.csv"]
    parser = columnar.ColumnarParser(spec, spec.names, set, {"users.csv", "projects.csv"})
    parsed = parser.parse(f"i1,u1,,{value}\n".encode())
    assert parsed is not None, value
    assert parsed.rows() == [("i1", "u1", "", parse_timestamp(value))]


def test_unusual_timestamps_go_to_the_row_validator() -> None:
    spec = FILES_BY_NAME["invites.csv"]
    parser = columnar.ColumnarParser(spec, spec.names, set, {"users.csv", "projects.csv"})
    for value in ODD_TIMES:
        assert parser.parse(f"i1,u1,,{value}\n".encode()) is None, value


@pytest.mark.parametrize("part_events", [2_500_000, 7])
def test_first_load_sessions_equal_a_rebuild_from_stored_events(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part_events: int
) -> None:
    """Sessions derived in memory on a first load equal those read back from the database,
    also where several events share a session's first instant (lowest event id first),
    and when the keys are derived in several parts."""
    from metrics.ingest import fresh

    monkeypatch.setattr(fresh, "PART_EVENTS", part_events)
    rows = [
        "b2,u1,p1,2026-02-03T10:00:00Z,login,,,,mobile",  # same instant, lower id: its device
        "b1,u1,p1,2026-02-03T10:00:00Z,page_view,,,,desktop",
        "a9,u1,p1,2026-02-03T10:20:00Z,action,search,,,tablet",
        "c1,u2,,2026-02-03T23:50:00Z,login,,,,",
        "c2,u2,,2026-02-04T00:10:00Z,page_view,,,,mobile",
        *(
            f"d{i:03},u3,p2,2026-02-05T{i // 4:02}:{i % 4 * 15:02}:00Z,page_view,,,,"
            for i in range(96)
        ),
    ]
    files = dict(GOOD, **{"events.csv": "\n".join([HEADER, *rows])})
    import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    first = stored(db.engine, db.workspace)
    assert first["sessions"][0][-1] == "desktop"
    assert sum(s[5] for s in first["sessions"]) == len(rows)
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        conn.execute(text("DELETE FROM sessions WHERE workspace_id = :ws"), {"ws": ws})
        conn.execute(text("DELETE FROM daily_activity WHERE workspace_id = :ws"), {"ws": ws})
        rebuild_all(conn, ws)
    assert stored(db.engine, db.workspace) == first


def test_a_repeated_event_id_in_a_first_load_is_refused(db: Db, tmp_path: Path) -> None:
    """It used to keep the later row silently (issue 15 item 10); now it names both lines."""
    rows = [
        "e1,u1,p1,2026-02-03T10:00:00Z,login,,,,desktop",
        "e2,u1,p1,2026-02-03T10:05:00Z,page_view,,,,desktop",
        "e1,u1,p1,2026-02-03T18:00:00Z,login,,,,mobile",
    ]
    files = dict(GOOD, **{"events.csv": "\n".join([HEADER, *rows])})
    with pytest.raises(ImportRejected) as rejected:
        import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    (error,) = rejected.value.errors
    assert (error.file, error.line, error.column) == ("events.csv", 4, "event_id")
    assert "already on line 2" in error.message
    with pytest.raises(DatabaseError):  # nothing stored, not even the workspace
        stored(db.engine, db.workspace)


def test_large_derived_writes_rebuild_their_indexes(
    sqlite_db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metrics.ingest import fresh

    monkeypatch.setattr(fresh, "BULK_MIN_DERIVED", 0)
    with sqlite_db.engine.connect() as conn:
        before = {
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='index'"))
        }
    import_folder(
        sqlite_db.engine, write_folder(tmp_path / "in", GOOD), workspace=sqlite_db.workspace
    )
    with sqlite_db.engine.connect() as conn:
        after = {
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='index'"))
        }
    assert after == before and "ix_sessions_cover" in after
    assert stored(sqlite_db.engine, sqlite_db.workspace)["sessions"]


@settings(max_examples=80, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="ab,\r", max_size=9), min_size=0, max_size=30),
    size=st.integers(1, 40),
    chunk=st.integers(1, 17),
)
def test_blocks_are_whole_lines_cut_at_the_first_newline_past_their_size(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], size: int, chunk: int
) -> None:
    path = tmp_path_factory.mktemp("blocks") / "events.csv"
    data = ("h1,h2\n" + "\n".join(lines)).encode()
    path.write_bytes(data)
    blocks = plan_blocks(path, size, chunk=chunk)  # any chunk size reads the same
    start = data.index(b"\n") + 1
    expected = []
    while start < len(data):
        cut = data.find(b"\n", start + size)
        end = len(data) if cut < 0 else cut + 1
        expected.append((start, end))
        start = end
    assert blocks == expected
