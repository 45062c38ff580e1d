"""Property-based fuzz of the OpenAPI schema (schemathesis): no input gives a 5xx.

Each operation of ``/openapi.json`` gets generated requests (valid and invalid
parameters and bodies) with a valid API key, on every configured backend; every
response must be below 500. The suite runs a few examples per operation
(seconds); ``make fuzz`` runs the bounded long run — ``PORTALPULSE_FUZZ_EXAMPLES``
per operation, 100 by default there, about 2,000 cases per backend — and prints
the count of cases and of responses per status class. The streaming endpoint is
left out: it shares its input checks with ``POST /api/ask`` (fuzzed here), and a
stream's status is decided before it starts.

(Schemathesis' own pytest decorators are not used: its lazy-fixture loader
reads a private attribute pytest 9 no longer has, so each operation's strategy
is driven with Hypothesis directly.)
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api_support import app_on
from tests.conftest import Db

EXAMPLES = int(os.environ.get("PORTALPULSE_FUZZ_EXAMPLES", "8"))
SKIPPED = {("POST", "/api/ask/stream")}


def test_no_input_gives_a_server_error(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, key = app_on(db, tmp_path, monkeypatch)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {key}"}
    statuses: Counter[str] = Counter()
    failures: list[str] = []
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
            response = case.call(headers=auth)
            statuses[f"{response.status_code // 100}xx"] += 1
            if response.status_code >= 500:
                failures.append(f"{response.status_code}: {case.as_curl_command()}")

        call()
        fuzzed.append(f"{operation.method.upper()} {operation.path}")
    counts = dict(sorted(statuses.items()))
    print(f"\nfuzz ({db.backend}): {sum(statuses.values())} cases, {counts}")
    assert failures == [], "\n".join(failures[:10])
    assert "POST /api/events" in fuzzed and "GET /api/metrics/{name}" in fuzzed
    assert len(fuzzed) >= 18
