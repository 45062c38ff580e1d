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
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from metrics.demo import generate_demo
from metrics.ingest import import_folder
from server import Config, create_app
from tests.api_support import AS_OF, GLOBEX, seed_assistant_store
from tests.conftest import Db, write_folder
from web.auth import create_key

EXAMPLES = int(os.environ.get("PORTALPULSE_FUZZ_EXAMPLES", "8"))
SKIPPED = {("POST", "/api/ask/stream")}


def _app(db: Db, root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, str]:
    """An app on ``db`` with the demo book and a small second workspace, and a key."""
    generate_demo(root / "demo", seed=3, as_of=date.fromisoformat(AS_OF), events=800)
    import_folder(db.engine, root / "demo", workspace=db.workspace)
    import_folder(db.engine, write_folder(root / "other", GLOBEX), workspace=db.workspace + "x")
    with db.engine.begin() as conn:
        key, _ = create_key(conn, db.workspace, "fuzz")
    if db.backend == "sqlite":
        seed_assistant_store(Path(db.engine.url.database))
    else:  # the store lives in the working folder for a server database
        seed_assistant_store(root / "template.db")
        monkeypatch.chdir(root)
        shutil.move(root / "template.db.chroma", root / ".portalpulse-chroma")
    app = create_app(Config(database_url=db.url, require_keys=True))
    assert app.state.runtime.assistant  # load the embedding model now, not in a timed request
    return app, key


def test_no_input_gives_a_server_error(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, key = _app(db, tmp_path, monkeypatch)
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
