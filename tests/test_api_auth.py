"""Auth and tenancy: keys required and enforced, open mode only on localhost, and no
route, tool or chat answer of one workspace reads another's data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metrics.db import connect
from tests.api_support import AS_OF, ApiEnv, build_env
from web.auth import KeyNotFound, auth_mode, is_loopback, revoke_key

KPIS = "/api/metrics/kpis"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> ApiEnv:
    return build_env(tmp_path_factory.mktemp("auth"))


@pytest.fixture(scope="module")
def keyed(env: ApiEnv) -> Iterator[TestClient]:
    """A server that requires keys."""
    with env.client(require_keys=True) as client:
        yield client


def _challenge(response: object) -> str:
    assert response.status_code == 401, response.text  # type: ignore[attr-defined]
    assert response.headers["www-authenticate"] == "Bearer"  # type: ignore[attr-defined]
    return response.json()["detail"]  # type: ignore[attr-defined]


def test_loopback_and_modes() -> None:
    for host in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "10.0.0.4", "::", "example.com", "", None, "testclient"):
        assert not is_loopback(host), host
    assert auth_mode("127.0.0.1", require_keys=False) == "open"
    assert auth_mode("127.0.0.1", require_keys=True) == "keys"
    assert auth_mode("0.0.0.0", require_keys=False) == "keys"


def test_keys_mode_refuses_missing_wrong_and_malformed_keys(keyed: TestClient, env: ApiEnv) -> None:
    assert "API key required" in _challenge(keyed.get(KPIS))
    assert "malformed" in _challenge(keyed.get(KPIS, headers=env.bearer("letmein")))
    forged = env.acme_key[:-4] + "AAAA"
    assert "unknown API key" in _challenge(keyed.get(KPIS, headers=env.bearer(forged)))
    basic = keyed.get(KPIS, headers={"Authorization": "Basic dTpw"})
    assert "Bearer" in _challenge(basic)
    for route in ("/api/conversations", "/api/ask"):
        assert keyed.request("GET" if "conv" in route else "POST", route,
                             json={"question": "hi"}).status_code == 401  # fmt: skip


def test_a_key_opens_its_workspace_by_either_header(keyed: TestClient, env: ApiEnv) -> None:
    params = {"range": "last_90_days", "as_of": AS_OF}
    acme = keyed.get(KPIS, params=params, headers=env.bearer(env.acme_key))
    same = keyed.get(KPIS, params=params, headers={"X-API-Key": env.acme_key})
    globex = keyed.get(KPIS, params=params, headers=env.bearer(env.globex_key))
    assert acme.status_code == same.status_code == globex.status_code == 200
    assert acme.json() == same.json()
    assert globex.json()["kpis"]["logins"] == 2  # the two logins of the globex file
    assert acme.json()["kpis"]["logins"] > 100


def test_revoked_key_is_refused(env: ApiEnv, tmp_path: Path) -> None:
    db = ["--db", env.url]
    created = _cli("keys", "create", "--workspace", "globex", "--name", "temp", *db)
    key = next(line for line in created.stdout.splitlines() if line.startswith("pp_"))
    assert "temp" in created.stdout
    prefix = key[:11]
    with env.client(require_keys=True) as client:
        assert client.get(KPIS, headers=env.bearer(key)).status_code == 200
        assert _cli("keys", "revoke", prefix, *db).returncode == 0
        assert "revoked" in _challenge(client.get(KPIS, headers=env.bearer(key)))
    listed = _cli("keys", "list", "--workspace", "globex", *db).stdout
    assert prefix in listed and "revoked" in listed and key not in listed  # never the secret
    engine = connect(env.url)
    with engine.begin() as conn, pytest.raises(KeyNotFound, match="no key with prefix"):
        revoke_key(conn, "pp_00000000")
    engine.dispose()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent.parent),
             "COLUMNS": "200"},
    )  # fmt: skip


def test_open_mode_serves_local_clients_without_a_key(env: ApiEnv) -> None:
    with env.client() as client:
        health = client.get("/health").json()
        assert health["auth"] == "open" and health["workspace"] == "acme"
        assert "without API keys" in health["note"]
        assert client.get("/ready").json()["auth"] == "open"
        assert client.get(KPIS, params={"as_of": AS_OF}).status_code == 200
        # a key still selects its own workspace, and a bad one is still refused
        other = client.get(KPIS, params={"range": "last_90_days", "as_of": AS_OF},
                           headers=env.bearer(env.globex_key))  # fmt: skip
        assert other.json()["kpis"]["logins"] == 2
        _challenge(client.get(KPIS, headers=env.bearer("pp_12345678_nope")))
        # a proxy forwarding a remote caller is not a local client
        _challenge(client.get(KPIS, headers={"X-Forwarded-For": "203.0.113.9"}))
        # issue 15 item 13: any proxy header marks a forwarded request, even alone or empty
        for header in ("Via", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-IP"):
            for value in ("1.1 proxy", ""):
                _challenge(client.get(KPIS, headers={header: value}))
        assert client.get(KPIS, headers={"X-Request-Id": "abc"}).status_code == 200


def test_open_mode_refuses_remote_clients(env: ApiEnv) -> None:
    with env.client(client=("203.0.113.9", 40000)) as remote:
        assert "local clients only" in _challenge(remote.get(KPIS))
        assert remote.get(KPIS, headers=env.bearer(env.acme_key)).status_code == 200
        assert remote.get("/health").status_code == 200


def test_a_non_loopback_bind_requires_keys(env: ApiEnv) -> None:
    with env.client(host="0.0.0.0") as client:
        assert client.get("/health").json()["auth"] == "keys"
        assert "API key required" in _challenge(client.get(KPIS))
        assert "acme" not in client.get("/ready").text


# -- no reading across workspaces ---------------------------------------------------------


def _names_of_acme(env: ApiEnv) -> set[str]:
    import csv

    names = set()
    for file, column in (("projects.csv", "name"), ("accounts.csv", "name")):
        with (env.csv / file).open() as f:
            names |= {row[column] for row in csv.DictReader(f)}
    return names


def test_metrics_of_one_workspace_never_show_the_other(keyed: TestClient, env: ApiEnv) -> None:
    params = {"range": "last_90_days", "as_of": AS_OF}
    for section in ("projects", "leaderboard", "risks", "users", "content"):
        body = keyed.get(f"/api/metrics/{section}", params=params,
                         headers=env.bearer(env.globex_key))  # fmt: skip
        assert body.status_code == 200, body.text
        assert "acc_" not in body.text and "prj_" not in body.text and "usr_" not in body.text
    # an acme name as a filter is unknown in globex (and the message lists only globex names)
    name = sorted(_names_of_acme(env))[0]
    refused = keyed.get(KPIS, params={"account": name}, headers=env.bearer(env.globex_key))
    assert refused.status_code == 422
    assert not any(n in refused.text for n in _names_of_acme(env) - {name})


def test_conversations_and_feedback_stay_in_their_workspace(keyed: TestClient, env: ApiEnv) -> None:
    a, b = env.bearer(env.acme_key), env.bearer(env.globex_key)
    asked = keyed.post("/api/ask", json={"question": "who never logged in?", "as_of": AS_OF},
                       headers=a).json()  # fmt: skip
    cid = asked["conversation_id"]
    assert any(c["id"] == cid for c in keyed.get("/api/conversations", headers=a).json())
    assert all(c["id"] != cid for c in keyed.get("/api/conversations", headers=b).json())
    assert keyed.get(f"/api/conversations/{cid}", headers=b).status_code == 404
    follow = keyed.post("/api/ask", json={"question": "and partners?", "conversation_id": cid},
                        headers=b)  # fmt: skip
    assert follow.status_code == 404
    verdict = {"conversation_id": cid, "message_seq": asked["message_seq"], "verdict": "right"}
    assert keyed.post("/api/feedback", json=verdict, headers=b).status_code == 404
    assert keyed.post("/api/feedback", json=verdict, headers=a).status_code == 200
    with keyed.stream("POST", "/api/ask/stream", headers=b,
                      json={"question": "more", "conversation_id": cid}) as streamed:  # fmt: skip
        assert streamed.status_code == 404


def test_the_chat_cannot_reach_another_workspace(keyed: TestClient, env: ApiEnv) -> None:
    """Asked in globex about acme's projects and accounts by name, the assistant finds
    nothing of acme: no name, no id, no figure of it in the answer or the data."""
    acme_names = _names_of_acme(env)
    project = next(n for n in sorted(acme_names) if "—" in n)
    account = project.split(" — ")[0]
    b = env.bearer(env.globex_key)
    for question in (
        f"How is {project} doing?",
        f"show the engagement of {account}",
        f"who never logged in at {account}?",
        "which projects have the lowest portal engagement?",
    ):
        body = keyed.post("/api/ask", json={"question": question, "as_of": AS_OF}, headers=b)
        assert body.status_code == 200, body.text
        payload = body.json()
        text = json.dumps({"answer": payload["answer"], "data": payload["data"]})
        leaked = [n for n in acme_names if n in text and n not in question]
        assert not leaked, (question, leaked)
        assert "prj_" not in text and "acc_" not in text and "usr_" not in text, question
    # the same question in acme does find it: the test would notice a blind assistant
    found = keyed.post("/api/ask", json={"question": f"How is {project} doing?", "as_of": AS_OF},
                       headers=env.bearer(env.acme_key)).json()  # fmt: skip
    assert "prj_" in json.dumps(found["data"]) or project in found["answer"]
