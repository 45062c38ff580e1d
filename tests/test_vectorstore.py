"""VectorStore: seeding and rebuilds, feedback growth, workspace isolation, entity sync."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import embedding
from assistant.vectorstore import (
    EntityName,
    Example,
    GlossaryEntry,
    VectorStore,
)

GLOSSARY = [
    GlossaryEntry("active_users", "active users", "Active users: users with at least one session."),
    GlossaryEntry(
        "adoption_rate",
        "adoption rate",
        "Adoption rate: share of invited users who logged in at least once.",
    ),
    GlossaryEntry(
        "downloads", "downloads", "Downloads: files downloaded from the resource library."
    ),
]
EXAMPLES = [
    Example("who never logged in", "list_users", {"filter": "never_logged_in"}),
    Example("top resources by views", "top_resources", {"metric": "views", "limit": 10}),
    Example("how many partners are active", "count_partners", {"status": "active"}),
]


@pytest.fixture(scope="module", autouse=True)
def _model() -> None:
    """Load the shared ONNX session once for the module."""
    embedding.warm_up()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VectorStore]:
    vs = VectorStore(tmp_path / "portalpulse.db.chroma")
    vs.ensure(GLOSSARY, EXAMPLES)
    yield vs
    vs.close()


def test_first_ensure_builds_and_second_does_nothing(tmp_path: Path) -> None:
    with VectorStore(tmp_path / "s") as vs:
        assert vs.ensure(GLOSSARY, EXAMPLES) is True
        assert vs.ensure(GLOSSARY, EXAMPLES) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reopening persisted collections warns about nothing
        with VectorStore(tmp_path / "s") as vs:
            assert vs.ensure(GLOSSARY, EXAMPLES) is False
            assert vs.search_glossary("share of people who ever signed in", k=1)[0].id == (
                "adoption_rate"
            )


def test_search_examples_ranks_paraphrase_first(store: VectorStore) -> None:
    hits = store.search_examples("which users have not logged in yet", k=5)
    top = hits[0]
    assert top.question == "who never logged in"
    assert top.tool == "list_users"
    assert top.args == {"filter": "never_logged_in"}
    assert top.source == "seed"
    assert top.workspace is None
    assert 0.0 <= hits[-1].similarity <= top.similarity <= 1.0
    assert top.similarity > 0.6
    assert len(hits) == len(EXAMPLES)


def test_k_limits_results(store: VectorStore) -> None:
    assert len(store.search_examples("users", k=1)) == 1
    assert len(store.search_glossary("users", k=2)) == 2
    assert store.search_examples("users", k=0) == []


def test_deleted_folder_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "x.chroma"
    with VectorStore(folder) as vs:
        vs.ensure(GLOSSARY, EXAMPLES)
    shutil.rmtree(folder)
    with VectorStore(folder) as vs:
        assert vs.search_glossary("downloads") == []
        assert vs.ensure(GLOSSARY, EXAMPLES) is True
        assert len(vs.search_glossary("downloads", k=10)) == len(GLOSSARY)
        assert len(vs.search_examples("users", k=10)) == len(EXAMPLES)


def test_changed_seed_content_rebuilds_and_keeps_feedback(store: VectorStore) -> None:
    store.add_example("partners with no deals", "list_partners", {"filter": "no_deals"}, "ws1")
    changed = [*EXAMPLES[:2], Example("how many partners are active", "count_partners", {})]
    assert store.ensure(GLOSSARY, changed) is True
    assert store.ensure(GLOSSARY, changed) is False
    hits = store.search_examples("how many partners are active", k=10, workspace="ws1")
    by_question = {h.question: h for h in hits}
    assert by_question["how many partners are active"].args == {}
    assert by_question["partners with no deals"].source == "feedback"
    assert len(hits) == len(changed) + 1

    new_glossary = [*GLOSSARY, GlossaryEntry("sessions", "sessions", "Sessions: visits.")]
    assert store.ensure(new_glossary, changed) is True
    assert len(store.search_glossary("visits", k=10)) == len(new_glossary)


def test_removed_seed_example_is_gone_after_rebuild(store: VectorStore) -> None:
    assert store.ensure(GLOSSARY, EXAMPLES[:1]) is True
    assert [h.question for h in store.search_examples("resources", k=10)] == ["who never logged in"]


def test_feedback_grows_index_idempotently(store: VectorStore) -> None:
    args = {"filter": "no_deals", "limit": 20}
    first = store.add_example("partners with no deals", "list_partners", args, "ws1")
    again = store.add_example(
        "partners with no deals", "list_partners", {"limit": 20, "filter": "no_deals"}, "ws1"
    )
    assert first == again
    hits = store.search_examples("which partners have not registered a deal", k=10, workspace="ws1")
    assert len(hits) == len(EXAMPLES) + 1
    assert hits[0].question == "partners with no deals"
    assert hits[0].source == "feedback"
    assert hits[0].workspace == "ws1"
    assert hits[0].args == args
    with pytest.raises(ValueError):
        store.add_example("q", "t", {}, "")


def test_feedback_stays_in_its_workspace(store: VectorStore) -> None:
    store.add_example("partners with no deals", "list_partners", {}, "ws1")
    for ws in ("ws2", None):
        hits = store.search_examples("partners with no deals", k=10, workspace=ws)
        assert all(h.source == "seed" for h in hits)
        assert len(hits) == len(EXAMPLES)


def test_entities_are_isolated_per_workspace(store: VectorStore) -> None:
    store.sync_entities("ws1", [EntityName("p1", "Acme Corp", "partner")])
    store.sync_entities("ws2", [EntityName("p9", "Globex", "partner")])
    assert [m.name for m in store.search_entities("ws1", "acme", k=10)] == ["Acme Corp"]
    assert [m.name for m in store.search_entities("ws2", "acme", k=10)] == ["Globex"]
    assert store.search_entities("ws3", "acme") == []


def test_entity_sync_replaces_and_is_idempotent(store: VectorStore) -> None:
    first = [
        EntityName("u1", "Jane Doe", "user"),
        EntityName("u2", "John Smith", "user"),
        EntityName("p1", "Acme Corp", "partner"),
    ]
    assert store.sync_entities("ws1", first) == 3
    assert store.sync_entities("ws1", first) == 0

    second = [EntityName("u1", "Jane Roe", "user"), EntityName("p1", "Acme Corp", "partner")]
    assert store.sync_entities("ws1", second) == 1  # only the rename is re-embedded
    names = {m.name for m in store.search_entities("ws1", "person", k=10)}
    assert names == {"Jane Roe", "Acme Corp"}

    hits = store.search_entities("ws1", "jane", k=10, kinds=["user"])
    assert [(h.entity_id, h.name, h.kind, h.workspace) for h in hits] == [
        ("u1", "Jane Roe", "user", "ws1")
    ]
    assert 0.0 <= hits[0].similarity <= 1.0

    assert store.sync_entities("ws1", []) == 0
    assert store.search_entities("ws1", "jane", k=10) == []


def test_duplicate_seed_ids_with_different_content_are_refused(tmp_path: Path) -> None:
    bad = [GlossaryEntry("x", "x", "one"), GlossaryEntry("x", "x", "two")]
    with VectorStore(tmp_path / "d") as vs, pytest.raises(ValueError, match="duplicate"):
        vs.ensure(bad, [])
    with VectorStore(tmp_path / "e") as vs:
        assert vs.ensure([], [*EXAMPLES, EXAMPLES[0]]) is True
        assert len(vs.search_examples("users", k=10)) == len(EXAMPLES)
