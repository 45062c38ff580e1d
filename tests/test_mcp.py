"""The MCP server, driven by the official SDK's own client: over stdio (``portalpulse mcp``)
and over streamable HTTP (``/mcp`` under ``portalpulse serve``)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from metrics.db import connect, workspace_id
from metrics.ingest import import_folder
from metrics.scope import resolve_scope
from metrics.sections import kpis
from tests.conftest import write_folder
from web.auth import create_key

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-03-10"


def run_async(fn: Any, *args: Any) -> Any:
    """``anyio.run`` in a thread of its own: the browser tests' session keeps an event loop
    running in the main thread, where a second one cannot start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, fn, *args).result()


def folder(logins: int) -> dict[str, str]:
    """A workspace whose one user logged in ``logins`` times in March 2026."""
    events = "\n".join(f"e{i},u1,p1,2026-03-0{1 + i % 8}T10:00:00Z,login" for i in range(logins))
    return {
        "accounts.csv": "account_id,name,kind\nacme,Acme,customer",
        "projects.csv": "project_id,account_id,name,status\np1,acme,Rollout,in_progress",
        "users.csv": "user_id,account_id,name\nu1,acme,Ann",
        "invites.csv": "invite_id,user_id,project_id,sent_at\ni1,u1,p1,2026-03-01T09:00:00Z",
        "events.csv": "event_id,user_id,project_id,occurred_at,type\n" + events,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("mcp")
    url = f"sqlite:///{tmp / 'mcp.db'}"
    engine = connect(url)
    import_folder(engine, write_folder(tmp / "a", folder(5)), workspace="alpha")
    import_folder(engine, write_folder(tmp / "b", folder(3)), workspace="beta")
    with engine.begin() as conn:
        key_a, _ = create_key(conn, "alpha")
        key_b, _ = create_key(conn, "beta")
    truth = {}
    with engine.connect() as conn:
        for name in ("alpha", "beta"):
            ws = workspace_id(conn, name)
            scope = resolve_scope(conn, ws, as_of=AS_OF, range="this_month")
            truth[name] = kpis.compute(conn, scope).kpis.logins
    engine.dispose()
    assert truth == {"alpha": 5, "beta": 3}
    yield {"url": url, "keys": {"alpha": key_a, "beta": key_b}, "logins": truth}


def logins(result: Any) -> int:
    assert not result.is_error, result.content
    return result.structured_content["data"]["kpis"]["logins"]


async def exercise(client: Client) -> dict[str, Any]:
    """List the tools, then ask for this month's KPIs and for an unknown tool."""
    tools = await client.list_tools()
    kpis_call = await client.call_tool("get_kpis", {"range": "this_month"})
    unknown = await client.call_tool("drop_tables", {})
    invalid = await client.call_tool("get_kpis", {"range": "forever"})
    return {"tools": tools.tools, "kpis": kpis_call, "unknown": unknown, "invalid": invalid}


def check_tools(tools: list[Any]) -> None:
    by_name = {t.name: t for t in tools}
    assert {"get_kpis", "list_projects", "get_risks", "query_metrics"} <= set(by_name)
    assert all(t.annotations.read_only_hint for t in tools)
    query = by_name["query_metrics"].input_schema
    assert "measures" in query["required"]
    assert "logins" in str(query["properties"]["measures"])  # generated from the registry


def check_answers(seen: dict[str, Any], expected_logins: int) -> None:
    check_tools(seen["tools"])
    envelope = seen["kpis"].structured_content
    assert logins(seen["kpis"]) == expected_logins
    assert envelope["tool"] == "get_kpis" and envelope["window"]["range"] == "this_month"
    assert envelope["as_of"].startswith("2026-03-11")  # a date as-of is the end of that day
    assert seen["unknown"].is_error and "unknown tool" in seen["unknown"].content[0].text
    assert seen["invalid"].is_error
    assert seen["invalid"].structured_content["error"] == "invalid"


def test_stdio_serves_one_workspace(db: dict[str, Any]) -> None:
    def params(workspace: str) -> StdioServerParameters:
        argv = ["portalpulse", "mcp", "--db", db["url"], "--workspace", workspace, "--as-of", AS_OF]
        return StdioServerParameters(
            command=sys.executable,
            args=["-c", f"import sys; from cli import main; sys.argv = {argv!r}; main()"],
            cwd=str(ROOT),
        )

    async def run(workspace: str) -> dict[str, Any]:
        async with Client(params(workspace)) as client:
            return await exercise(client)

    check_answers(run_async(run, "alpha"), db["logins"]["alpha"])
    beta = run_async(run, "beta")
    assert logins(beta["kpis"]) == db["logins"]["beta"]


class LiveServer:
    """``portalpulse serve``'s app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(db: dict[str, Any]) -> Iterator[LiveServer]:
    from server import Config, create_app

    with LiveServer(create_app(Config(database_url=db["url"]))) as server:
        yield server


def http_session(url: str, key: str) -> Client:
    headers = {"Authorization": f"Bearer {key}"}
    return Client(streamable_http_client(url, http_client=create_mcp_http_client(headers)))


def test_http_lists_and_answers_with_the_envelope(db: dict[str, Any], live) -> None:
    async def run(key: str) -> dict[str, Any]:
        async with http_session(f"{live.url}/mcp/", key) as client:
            return await exercise(client)

    seen = run_async(run, db["keys"]["alpha"])
    check_tools(seen["tools"])
    envelope = seen["kpis"].structured_content
    assert envelope["tool"] == "get_kpis" and set(envelope) >= {"as_of", "window", "data"}
    assert seen["unknown"].is_error and seen["invalid"].is_error


def test_http_each_key_sees_its_own_workspace(db: dict[str, Any], live) -> None:
    """The same call with two keys: each gets its workspace's figure from the metrics layer
    (the window given explicitly: the HTTP server's "now" is the real one)."""

    async def run(key: str) -> int:
        async with http_session(f"{live.url}/mcp/", key) as client:
            result = await client.call_tool("get_kpis", {"from": "2026-03-01", "to": "2026-03-10"})
            return logins(result)

    assert run_async(run, db["keys"]["alpha"]) == db["logins"]["alpha"]
    assert run_async(run, db["keys"]["beta"]) == db["logins"]["beta"]


def test_http_needs_a_valid_key_even_on_localhost(live) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"accept": "application/json, text/event-stream"}
    none = httpx.post(f"{live.url}/mcp/", json=ping, headers=accept)
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    bad = httpx.post(
        f"{live.url}/mcp/", json=ping, headers={**accept, "authorization": "Bearer pp_0000_x"}
    )
    assert bad.status_code == 401 and "API key" in bad.json()["detail"]
