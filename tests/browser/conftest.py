"""Browser tests: the real server on a demo database, driven in headless Chromium.

Chromium is the system one (Debian's ``chromium``, installed by
``scripts/setup-browser``), driven through Playwright's Python package with
``executable_path`` — Playwright's own browser download is never used. Without
a Chromium (or without Playwright) these tests skip and say why, unless
``PORTALPULSE_REQUIRE_BROWSER=1`` (``.ci/run`` sets it), where they fail.

Screenshots go to ``$PORTALPULSE_ARTIFACTS`` (default ``tests/artifacts/``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from metrics.db import connect, workspace_id
from metrics.demo import generate_demo
from metrics.ingest import import_folder
from metrics.models import Account

AS_OF = "2026-11-22"
HOSTILE = '<script>window.__pp_xss = 1</script><img src=x onerror="window.__pp_xss = 2">'
ROOT = Path(__file__).resolve().parents[2]


def unavailable(reason: str) -> None:
    """Skip the browser tests for ``reason``, or fail them where CI requires a browser."""
    if os.environ.get("PORTALPULSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PORTALPULSE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (run scripts/setup-browser)")


def find_chromium() -> str | None:
    """``$PORTALPULSE_CHROMIUM`` when set (and nothing else), else chromium on PATH or Debian's."""
    explicit = os.environ.get("PORTALPULSE_CHROMIUM")
    candidates = (
        [explicit]
        if explicit
        else [shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium"]
    )
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("PORTALPULSE_ARTIFACTS") or ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small seeded demo database; one account gets a name full of HTML."""
    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'demo.db'}"
    engine = connect(url)
    generate_demo(root / "csv", seed=7, as_of=date.fromisoformat(AS_OF), events=6000)
    import_folder(engine, root / "csv")
    with engine.begin() as conn:
        ws = workspace_id(conn)
        first = conn.scalar(
            Account.__table__.select()
            .with_only_columns(Account.account_id)
            .where(Account.workspace_id == ws, Account.kind == "customer")
            .order_by(Account.account_id)
            .limit(1)
        )
        conn.execute(
            update(Account)
            .where(Account.workspace_id == ws, Account.account_id == first)
            .values(name=f"Acme {HOSTILE}")
        )
    engine.dispose()
    return url


class LiveServer:
    """uvicorn serving ``app`` on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(demo_url: str) -> Iterator[LiveServer]:
    from server import Config, create_app

    with LiveServer(create_app(Config(database_url=demo_url))) as live:
        yield live


@pytest.fixture(scope="session")
def api(server: LiveServer) -> Callable[..., dict[str, Any]]:
    """GET a metrics section from the same server, as the page does."""
    client = httpx.Client(base_url=server.url, timeout=30)

    def get(section: str, **params: Any) -> dict[str, Any]:
        response = client.get(f"/api/metrics/{section}", params={"as_of": AS_OF, **params})
        response.raise_for_status()
        return response.json()

    return get


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = find_chromium()
    if executable is None:
        unavailable("no chromium found (set PORTALPULSE_CHROMIUM or install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        yield launched
        launched.close()


def open_dashboard(page: Any, base: str, query: str = "") -> None:
    """Open ``/`` as of the demo's date and wait until every section has rendered."""
    page.goto(f"{base}/?as_of={AS_OF}{'&' + query if query else ''}")
    page.wait_for_selector('#kpis[aria-busy="false"] .kpi')
    page.wait_for_selector("#projects tbody tr")
    page.wait_for_selector("#risks li")


def settle(page: Any) -> None:
    """Wait for the panel's answers in flight before the page goes away.

    A streamed answer whose page was closed still finishes its step in a server worker
    thread; if the test process then exits, it exits under the embedding runtime's threads
    and aborts.
    """
    page.wait_for_function(
        "() => !document.querySelector('.msg.assistant[aria-busy=\"true\"]')", timeout=90_000
    )


class Console:
    """Console errors and uncaught exceptions of one page."""

    def __init__(self, page: Any, allow: tuple[str, ...] = ()) -> None:
        self.errors: list[str] = []
        self.allow = allow
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _message(self, message: Any) -> None:
        if message.type == "error" and not any(a in message.text for a in self.allow):
            self.errors.append(message.text)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh 1366×768 page; the test fails if it logged a console error."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    console = Console(tab)
    yield tab
    settle(tab)
    errors = console.errors
    context.close()
    assert not errors, f"console errors: {errors}"
