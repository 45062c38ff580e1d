"""Property-based fuzz of the OpenAPI schema (schemathesis): no input gives a 5xx.

Each operation of ``/openapi.json`` gets a few generated requests (valid and
invalid parameters and bodies) with a valid API key; every response must be
below 500. Bounded to a few examples per operation so it takes seconds. The
streaming endpoint is left out: it shares its input checks with ``POST
/api/ask`` (fuzzed here), and a stream's status is decided before it starts.

(Schemathesis' own pytest decorators are not used: its lazy-fixture loader
reads a private attribute pytest 9 no longer has, so each operation's strategy
is driven with Hypothesis directly.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from server import Config, create_app
from tests.api_support import build_env

EXAMPLES = 8
SKIPPED = {("POST", "/api/ask/stream")}


@pytest.fixture(scope="module")
def api() -> tuple[schemathesis.BaseSchema, str]:
    return _API


_API: tuple[schemathesis.BaseSchema, str]


@pytest.fixture(scope="module", autouse=True)
def _load(tmp_path_factory: pytest.TempPathFactory) -> None:
    global _API
    env = build_env(Path(tmp_path_factory.mktemp("fuzz")), events=800)
    app = create_app(Config(database_url=env.url, require_keys=True))
    assert app.state.runtime.assistant  # load the embedding model now, not in a timed request
    _API = (schemathesis.openapi.from_asgi("/openapi.json", app), env.globex_key)


def test_no_input_gives_a_server_error(api: tuple[schemathesis.BaseSchema, str]) -> None:
    schema, key = api
    auth = {"Authorization": f"Bearer {key}"}
    fuzzed = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=auth, checks=[not_a_server_error])

        call()
        fuzzed.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /api/events" in fuzzed and "GET /api/metrics/{name}" in fuzzed
    assert len(fuzzed) >= 18
