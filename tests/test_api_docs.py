"""``/docs`` and ``/redoc`` need no network, and every parameter of the API is described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server import Config, create_app

LOCAL = ("127.0.0.1", 50000)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    folder: Path = tmp_path_factory.mktemp("docs")
    return TestClient(create_app(Config(database_url=f"sqlite:///{folder / 'x.db'}")), client=LOCAL)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_the_app(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "an asset from another host"
    assert "fonts.googleapis" not in html and "cdn." not in html
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html)
    assets += re.findall(r"url: '(/static/[^']+)'", html)
    assert any(a.endswith(".js") for a in assets), html
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in html


def test_every_parameter_of_every_operation_is_described(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    missing = [
        f"{method.upper()} {path} {p['in']} {p['name']}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for p in operation.get("parameters", [])
        if not (p.get("description") or "").strip()
    ]
    assert not missing, missing
