"""Declare once, derive everywhere: a measure added to the registry reaches ``/api/meta``,
``GET /api/query``, ``portalpulse query`` and the ``query_metrics`` tool untouched."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import app
from metrics.db import workspace_id
from metrics.ingest import import_folder
from metrics.semantic.registry import EventCount, Measure
from metrics.semantic.vocabulary import REGISTRY
from server import Config, create_app
from tests.api_support import LOCAL
from tests.conftest import Db, write_folder
from tests.test_semantic_examples import AS_OF, FILES
from tools.catalog import SPECS, run_tool
from tools.context import ToolContext

DOWNLOADS = Measure(
    "file_downloads",
    "File downloads",
    "file_download actions in the window.",
    "events",
    EventCount((("type", "action"), ("action", "file_download"))),
    synonyms=("downloads",),
)
SCOPE = {"as_of": AS_OF, "range": "this_month"}


def _tool_schema() -> dict:
    spec = next(s for s in SPECS if s.name == "query_metrics")
    return spec.args.model_json_schema()


def test_a_declared_measure_reaches_every_layer(sqlite_db: Db, tmp_path: Path) -> None:
    import_folder(sqlite_db.engine, write_folder(tmp_path / "in", FILES))
    url = sqlite_db.url
    client = TestClient(create_app(Config(database_url=url)), client=LOCAL)
    assert "file_downloads" not in json.dumps(_tool_schema())
    with REGISTRY.extended(DOWNLOADS):
        meta = client.get("/api/meta").json()
        declared = next(m for m in meta["measures"] if m["name"] == "file_downloads")
        assert declared["label"] == "File downloads" and "device" in declared["dimensions"]

        answer = client.get("/api/query", params={"measures": "downloads", "by": "device", **SCOPE})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"] == [{"device": "tablet", "file_downloads": 1}]

        runner = CliRunner()
        done = runner.invoke(
            app, ["query", "file_downloads", "--json", "--db", url, "--as-of", AS_OF,
                  "--range", "this_month"],
        )  # fmt: skip
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["totals"] == {"file_downloads": 1}
        assert "file_downloads" in runner.invoke(app, ["query", "--list"]).output

        schema = _tool_schema()
        assert "file_downloads" in schema["properties"]["measures"]["items"]["enum"]
        with sqlite_db.engine.connect() as conn:
            ws = workspace_id(conn, "default", create=False)
        ctx = ToolContext(sqlite_db.engine, ws, as_of=AS_OF)
        result = run_tool(
            ctx, "query_metrics", {"measures": ["file_downloads"], "range": "this_month"}
        )
        assert result["data"]["totals"] == {"file_downloads": 1}
    assert "file_downloads" not in [m["name"] for m in client.get("/api/meta").json()["measures"]]
    assert "file_downloads" not in json.dumps(_tool_schema())
