"""Fixed filters of an ask are names or ids, resolved once; a tool outside them says so.

Regressions: names given as fixed filters used to be compared, raw, with the ids a
tool argument resolved to ("you can only see your own book of business"); a profile
outside the caller's filters came back as ``invalid`` instead of ``out_of_scope``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from metrics.db import connect
from metrics.demo import generate_demo
from metrics.ingest import import_folder
from metrics.models import Account, Project, TeamMember
from metrics.query import PROJECT_OWNER
from server import Config, create_app
from tests.api_support import LOCAL, seed_assistant_store

AS_OF = "2026-11-22"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("ask-filters")
    url = f"sqlite:///{root / 'api.db'}"
    seed_assistant_store(root / "api.db")
    generate_demo(root / "csv", seed=5, as_of=date.fromisoformat(AS_OF), events=4000)
    engine = connect(url)
    import_folder(engine, root / "csv")
    with engine.connect() as conn:
        owned = conn.execute(
            select(TeamMember.name, Project.name, Account.name)
            .select_from(Project)
            .join(Account, (Account.account_id == Project.account_id))
            .join(TeamMember, TeamMember.member_id == PROJECT_OWNER)
            .order_by(Project.project_id)
        ).all()
    owner, _, account = owned[0]
    other_project = next(p for o, p, _ in owned if o != owner)
    names = {"owner": owner, "account": account, "other_project": other_project}
    with TestClient(create_app(Config(database_url=url)), client=LOCAL) as client:
        yield client, names


def test_named_fixed_filters_meet_named_arguments(env: tuple[TestClient, dict[str, str]]) -> None:
    client, names = env
    owner = names["owner"]
    response = client.post(
        "/api/ask",
        json={
            "question": f"how many logins did {owner}'s projects have last month?",
            "as_of": AS_OF,
            "filters": {"owner": owner.upper()},  # a name, in other case: still the same person
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "own book of business" not in body["answer"]
    assert all("error" not in d for d in body["data"]), body["data"]
    assert body["data"][0]["filters"]["owner"].startswith("tm_")

    account = names["account"]
    response = client.post(
        "/api/ask",
        json={
            "question": f"how many visits did {account} have this month?",
            "as_of": AS_OF,
            "filters": {"accounts": [account.lower()]},
        },
    )
    body = response.json()
    assert all("error" not in d for d in body["data"]), body["data"]
    assert "outside the accounts you can see" not in body["answer"]


def test_profile_outside_the_fixed_filters_is_out_of_scope(
    env: tuple[TestClient, dict[str, str]],
) -> None:
    client, names = env
    response = client.post(
        "/api/ask",
        json={
            "question": f"tell me about the project {names['other_project']}",
            "as_of": AS_OF,
            "filters": {"owner": names["owner"]},
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data and data[0]["tool"] == "get_profile"
    assert data[0]["error"] == "out_of_scope", data[0]


def test_unknown_fixed_filter_is_a_422_naming_it(env: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = env
    response = client.post(
        "/api/ask", json={"question": "who never logged in?", "filters": {"owner": "Nobody Atall"}}
    )
    assert response.status_code == 422
    assert "unknown owner 'Nobody Atall'" in response.json()["detail"]
