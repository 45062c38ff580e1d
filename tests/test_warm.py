"""``portalpulse serve`` loads the assistant in the background at start-up."""

from __future__ import annotations

import threading
from pathlib import Path

from server import Config, create_app


def test_warm_loads_one_assistant_even_with_a_request_racing_it(tmp_path: Path) -> None:
    app = create_app(Config(database_url=f"sqlite:///{tmp_path / 'w.db'}"))
    rt = app.state.runtime
    assert not rt.assistant_loaded
    seen: list[object] = []
    racer = threading.Thread(target=lambda: seen.append(rt.assistant))
    warming = rt.warm_in_background()
    racer.start()
    warming.join(timeout=300)
    racer.join(timeout=300)
    assert rt.assistant_loaded
    assert seen == [rt.assistant]  # the request got the assistant the warm-up built


def test_serve_starts_the_warm_up(monkeypatch) -> None:
    import uvicorn

    from cli import app
    from cli.common import run_app
    from web.deps import Runtime

    started: list[Runtime] = []
    monkeypatch.setattr(Runtime, "warm_in_background", lambda self: started.append(self))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    assert run_app(app, ["serve", "--db", "sqlite://", "--port", "0"]) == 0
    assert len(started) == 1


def test_serve_points_digest_links_at_its_own_address(monkeypatch) -> None:
    import os

    import uvicorn

    from cli import app
    from cli.common import run_app
    from cli.serve import listen_url
    from web.deps import Runtime

    monkeypatch.setattr(Runtime, "warm_in_background", lambda self: None)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setenv("PORTALPULSE_BASE_URL", "unset at the end of the test")
    monkeypatch.delenv("PORTALPULSE_BASE_URL")
    assert run_app(app, ["serve", "--db", "sqlite://", "--port", "8123"]) == 0
    assert os.environ["PORTALPULSE_BASE_URL"] == "http://127.0.0.1:8123"
    # a URL set by the user wins
    monkeypatch.setenv("PORTALPULSE_BASE_URL", "https://pulse.example.com")
    assert run_app(app, ["serve", "--db", "sqlite://", "--port", "9000"]) == 0
    assert os.environ["PORTALPULSE_BASE_URL"] == "https://pulse.example.com"
    assert listen_url("::1", 80) == "http://[::1]:80"
