"""A database with two workspaces and API keys, for the API tests.

``acme`` holds the seeded demo book of business; ``globex`` a small hand-written
one whose names appear nowhere in ``acme`` — so a leak across workspaces shows
up as a name or id of the other one in a response.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from metrics.db import connect
from metrics.demo import generate_demo
from metrics.ingest import import_folder
from server import Config, create_app
from tests.conftest import Db, write_folder
from web.auth import create_key

AS_OF = "2026-11-22"
LOCAL = ("127.0.0.1", 50000)
"""TestClient's client address for a local caller (its default, 'testclient', is not)."""

GLOBEX = {
    "team_members.csv": """
        member_id,name,email
        gx_tm1,Orla Quenby,orla@globex.example
    """,
    "accounts.csv": """
        account_id,name,kind,partner_type,owner_id
        gx_a1,Zephyr Foods,customer,,gx_tm1
        gx_a2,Quokka Resellers,partner,reseller,gx_tm1
    """,
    "projects.csv": """
        project_id,account_id,name,owner_id,status,playbook,started_on,target_live_on
        gx_p1,gx_a1,Zephyr Foods rollout,gx_tm1,in_progress,Standard,2026-10-01,2026-12-31
    """,
    "users.csv": """
        user_id,account_id,name,email,role
        gx_u1,gx_a1,Wendell Yarrow,,admin
        gx_u2,gx_a2,Ysolde Varga,,member
    """,
    "invites.csv": """
        invite_id,user_id,project_id,sent_at
        gx_i1,gx_u1,gx_p1,2026-10-02T09:00:00Z
        gx_i2,gx_u2,,2026-10-02T09:00:00Z
    """,
    "events.csv": """
        event_id,user_id,project_id,occurred_at,type,action,room_id,resource_id,device
        gx_e1,gx_u1,gx_p1,2026-11-10T09:00:00Z,login,,,,desktop
        gx_e2,gx_u1,gx_p1,2026-11-10T09:05:00Z,page_view,,,,desktop
        gx_e3,gx_u2,,2026-11-12T10:00:00Z,login,,,,mobile
    """,
}


@dataclass
class ApiEnv:
    url: str
    acme_key: str
    globex_key: str
    csv: Path
    """The acme demo CSV folder."""

    def client(
        self,
        *,
        host: str = "127.0.0.1",
        require_keys: bool = False,
        client: tuple[str, int] = LOCAL,
        workspace: str = "acme",
    ) -> TestClient:
        config = Config(
            database_url=self.url, workspace=workspace, host=host, require_keys=require_keys
        )
        return TestClient(create_app(config), client=client)

    @staticmethod
    def bearer(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


_TEMPLATE: list[Path] = []


def seed_assistant_store(database: Path) -> None:
    """Give ``database`` a ready vector store (the folder beside it, ``<db>.chroma``).

    A fresh store embeds every seed example and the glossary — 10 to 25 s here —
    so it is built once per session, beside an empty database, and copied: a
    pristine copy, so no test sees another test's feedback or names.
    """
    if not _TEMPLATE:
        from assistant.service import Assistant

        folder = database.parent.parent / "assistant-store-template"
        folder.mkdir(exist_ok=True)
        engine = connect(f"sqlite:///{folder / 'empty.db'}")
        Assistant(engine).store.close()
        engine.dispose()
        _TEMPLATE.append(folder / "empty.db.chroma")
    shutil.copytree(_TEMPLATE[0], Path(f"{database}.chroma"))


def build_env(root: Path, events: int = 5000) -> ApiEnv:
    """Two workspaces and one key for each, in a SQLite file under ``root``."""
    url = f"sqlite:///{root / 'api.db'}"
    seed_assistant_store(root / "api.db")
    engine = connect(url)
    generate_demo(root / "acme", seed=3, as_of=date.fromisoformat(AS_OF), events=events)
    import_folder(engine, root / "acme", workspace="acme")
    import_folder(engine, write_folder(root / "globex", GLOBEX), workspace="globex")
    with engine.begin() as conn:
        acme, _ = create_key(conn, "acme", "tests")
        globex, _ = create_key(conn, "globex", "tests")
    engine.dispose()
    return ApiEnv(url, acme, globex, root / "acme")


def app_on(db: Db, root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FastAPI, str]:
    """An app (keys required) on the ``db`` fixture's backend, with the demo book in the
    test's workspace, a small second workspace, the assistant loaded, and a key."""
    generate_demo(root / "demo", seed=3, as_of=date.fromisoformat(AS_OF), events=800)
    import_folder(db.engine, root / "demo", workspace=db.workspace)
    import_folder(db.engine, write_folder(root / "other", GLOBEX), workspace=db.workspace + "x")
    with db.engine.begin() as conn:
        key, _ = create_key(conn, db.workspace, "tests")
    if db.backend == "sqlite":
        seed_assistant_store(Path(str(db.engine.url.database)))
    else:  # the store lives in the working folder for a server database
        seed_assistant_store(root / "template.db")
        monkeypatch.chdir(root)
        shutil.move(root / "template.db.chroma", root / ".portalpulse-chroma")
    app = create_app(Config(database_url=db.url, require_keys=True))
    assert app.state.runtime.assistant  # load the embedding model now, not in a timed request
    return app, key
