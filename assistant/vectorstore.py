"""Semantic look-ups for the assistant, on a local chromadb folder.

Three collections, all embedded with :class:`~assistant.embedding.MiniLMEmbedding`
and ranked by cosine similarity:

``glossary``
    Metric definitions (seeded by :meth:`VectorStore.ensure`).
``examples``
    Example questions with the tool call that answers them. Seed examples are
    global (shared by every workspace); feedback examples, added when a user
    marks an answer right, belong to one workspace.
``entities``
    Names of things in a workspace (users, partners, resources, ...), kept in
    step by :meth:`VectorStore.sync_entities`.

Nothing of one workspace is returned for another: feedback examples and
entities are always filtered on their workspace.

The folder is a cache: deleting it and calling :meth:`VectorStore.ensure`
rebuilds the seeded collections (feedback examples and entities are lost with
it; re-add them from their source of truth).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import chromadb
import numpy as np
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings

from assistant.embedding import DIMENSIONS, MiniLMEmbedding, embed

__all__ = [
    "EntityMatch",
    "EntityName",
    "Example",
    "ExampleMatch",
    "GlossaryEntry",
    "GlossaryMatch",
    "VectorStore",
]

#: Bump when the way documents are stored changes; forces a rebuild.
SCHEMA_VERSION = 1
GLOSSARY = "glossary"
EXAMPLES = "examples"
ENTITIES = "entities"
#: Rows per chromadb write (below chromadb's SQLite batch limit).
_WRITE_CHUNK = 1000
_GLOBAL = ""  # the workspace value of seed examples

Source = Literal["seed", "feedback"]


@dataclass(frozen=True)
class GlossaryEntry:
    """A metric definition: ``text`` is what gets embedded and returned."""

    id: str
    term: str
    text: str


@dataclass(frozen=True)
class Example:
    """A seed example: a question and the tool call that answers it.

    ``id`` defaults to a hash of question, tool and arguments.
    """

    question: str
    tool: str
    args: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class EntityName:
    """A named thing in a workspace; ``kind`` is e.g. ``"user"`` or ``"partner"``."""

    entity_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class GlossaryMatch:
    """A glossary hit; ``similarity`` is the cosine similarity clipped to 0..1."""

    id: str
    term: str
    text: str
    similarity: float


@dataclass(frozen=True)
class ExampleMatch:
    """An example hit; ``workspace`` is ``None`` for seed examples."""

    id: str
    question: str
    tool: str
    args: dict[str, Any]
    source: Source
    workspace: str | None
    similarity: float


@dataclass(frozen=True)
class EntityMatch:
    """An entity hit within one workspace."""

    entity_id: str
    name: str
    kind: str
    workspace: str
    similarity: float


def _canonical_args(args: Mapping[str, Any]) -> str:
    return json.dumps(dict(args), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def _fingerprint(kind: str, rows: Sequence[tuple[str, str, dict[str, Any]]]) -> str:
    payload = json.dumps(
        {
            "schema": SCHEMA_VERSION,
            "model": MiniLMEmbedding.name(),
            "kind": kind,
            "rows": sorted([list(r) for r in rows], key=lambda r: r[0]),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _similarity(distance: float) -> float:
    """Cosine distance (1 - cos) to a similarity in 0..1."""
    return min(1.0, max(0.0, 1.0 - float(distance)))


def _chunks(n: int) -> Iterator[slice]:
    for start in range(0, n, _WRITE_CHUNK):
        yield slice(start, start + _WRITE_CHUNK)


def _unique(rows: list[tuple[str, str, dict[str, Any]]], what: str) -> list[tuple[str, str, dict]]:
    """Drop exact duplicates; reject one id used for different content."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for row_id, doc, meta in rows:
        if row_id in seen and seen[row_id] != (doc, meta):
            raise ValueError(f"duplicate {what} id {row_id!r} with different content")
        seen[row_id] = (doc, meta)
    return [(row_id, doc, meta) for row_id, (doc, meta) in seen.items()]


def _glossary_rows(entries: Sequence[GlossaryEntry]) -> list[tuple[str, str, dict[str, Any]]]:
    return _unique([(e.id, e.text, {"term": e.term}) for e in entries], "glossary")


def _example_meta(tool: str, args_json: str, source: Source, workspace: str) -> dict[str, Any]:
    return {"tool": tool, "args_json": args_json, "source": source, "workspace": workspace}


def _seed_rows(examples: Sequence[Example]) -> list[tuple[str, str, dict[str, Any]]]:
    rows = []
    for ex in examples:
        args_json = _canonical_args(ex.args)
        row_id = ex.id or "seed:" + _digest(ex.question, ex.tool, args_json)[:32]
        rows.append((row_id, ex.question, _example_meta(ex.tool, args_json, "seed", _GLOBAL)))
    return _unique(rows, "example")


class VectorStore:
    """Glossary, example and entity search over a chromadb folder.

    ``path`` is a folder owned by this store (created if missing), e.g.
    ``portalpulse.db.chroma/`` beside the SQLite database. Telemetry is off.
    Methods are safe to call from several threads.
    """

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the store in ``path``; nothing is embedded yet."""
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._ef = MiniLMEmbedding()
        self._client = chromadb.PersistentClient(
            path=str(self.path),
            settings=Settings(anonymized_telemetry=False, allow_reset=False),
        )
        self._lock = threading.RLock()
        self._examples_cache: (
            tuple[list[str], list[str], list[dict[str, Any]], np.ndarray] | None
        ) = None

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Release the chromadb client (its SQLite files)."""
        self._client.close()

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _collection(self, name: str) -> Collection:
        return self._client.get_or_create_collection(
            name,
            embedding_function=self._ef,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )

    def _recreate(self, name: str) -> Collection:
        if name in {c.name for c in self._client.list_collections()}:
            self._client.delete_collection(name)
        return self._collection(name)

    @staticmethod
    def _is_current(col: Collection, fingerprint: str) -> bool:
        meta = col.metadata or {}
        if meta.get("seed_fingerprint") != fingerprint:
            return False
        return col.count() >= int(meta.get("seed_count", 0))

    @staticmethod
    def _write(col: Collection, rows: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        for part in _chunks(len(rows)):
            chunk = rows[part]
            col.upsert(
                ids=[r[0] for r in chunk],
                documents=[r[1] for r in chunk],
                metadatas=[r[2] for r in chunk],
            )

    @staticmethod
    def _mark(col: Collection, fingerprint: str, count: int) -> None:
        # Written last, so an interrupted build is redone at the next start.
        col.modify(metadata={"seed_fingerprint": fingerprint, "seed_count": count})

    # -- seeding -----------------------------------------------------------

    def ensure(self, glossary: Sequence[GlossaryEntry], examples: Sequence[Example]) -> bool:
        """Make the collections match the seed content; return whether anything was rebuilt.

        A collection is rebuilt when it is missing, holds fewer rows than were
        seeded, or its stored fingerprint (a hash of the seed content, the
        embedding model and the storage schema) differs. Otherwise this only
        reads two collection records. Feedback examples survive a rebuild of
        the ``examples`` collection (they are re-embedded).
        """
        with self._lock:
            rebuilt = False
            rows = _glossary_rows(glossary)
            fingerprint = _fingerprint(GLOSSARY, rows)
            if not self._is_current(self._collection(GLOSSARY), fingerprint):
                col = self._recreate(GLOSSARY)
                self._write(col, rows)
                self._mark(col, fingerprint, len(rows))
                rebuilt = True

            rows = _seed_rows(examples)
            fingerprint = _fingerprint(EXAMPLES, rows)
            col = self._collection(EXAMPLES)
            if not self._is_current(col, fingerprint):
                kept = col.get(where={"source": "feedback"}, include=["documents", "metadatas"])
                feedback = [
                    (i, d, dict(m))
                    for i, d, m in zip(
                        kept["ids"], kept["documents"] or [], kept["metadatas"] or [], strict=True
                    )
                ]
                col = self._recreate(EXAMPLES)
                self._write(col, rows + feedback)
                self._mark(col, fingerprint, len(rows))
                self._examples_cache = None
                rebuilt = True

            self._collection(ENTITIES)
            return rebuilt

    # -- examples ----------------------------------------------------------

    def add_example(self, question: str, tool: str, args: Mapping[str, Any], workspace: str) -> str:
        """Add a confirmed question → tool call to ``workspace``; return its id.

        Idempotent: the id is a hash of workspace, question, tool and
        arguments, so the same confirmation twice stores one row.
        """
        if not workspace:
            raise ValueError("feedback examples need a workspace")
        if not question.strip():
            raise ValueError("empty question")
        args_json = _canonical_args(args)
        row_id = "fb:" + _digest(workspace, question.strip(), tool, args_json)[:32]
        meta = _example_meta(tool, args_json, "feedback", workspace)
        with self._lock:
            self._write(self._collection(EXAMPLES), [(row_id, question.strip(), meta)])
            self._examples_cache = None
        return row_id

    def search_examples(
        self, question: str, k: int = 5, workspace: str | None = None
    ) -> list[ExampleMatch]:
        """The ``k`` examples closest to ``question``, best first.

        Seed examples always qualify; feedback examples only for their own
        ``workspace`` (with ``workspace=None``, seed examples only).
        """
        allowed = {_GLOBAL} if not workspace else {_GLOBAL, workspace}
        ids, docs, metas, matrix = self._example_matrix()
        if not ids:
            return []
        similarities = matrix @ embed([question])[0]
        order = [
            i for i in np.argsort(-similarities, kind="stable") if metas[i]["workspace"] in allowed
        ][:k]
        return [
            ExampleMatch(
                id=ids[i],
                question=docs[i],
                tool=str(metas[i]["tool"]),
                args=json.loads(str(metas[i]["args_json"])),
                source="feedback" if metas[i]["source"] == "feedback" else "seed",
                workspace=str(metas[i]["workspace"]) or None,
                similarity=float(min(1.0, max(0.0, similarities[i]))),
            )
            for i in order
        ]

    def _example_matrix(self) -> tuple[list[str], list[str], list[dict[str, Any]], np.ndarray]:
        """All example rows and their unit vectors, read once and kept until they change.

        There are a few hundred examples: a dot product over all of them is
        faster than an index query, and exact."""
        with self._lock:
            if self._examples_cache is None:
                got = self._collection(EXAMPLES).get(
                    include=["documents", "metadatas", "embeddings"]
                )
                vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(-1, DIMENSIONS)
                self._examples_cache = (
                    list(got["ids"]),
                    list(got["documents"] or []),
                    [dict(m) for m in got["metadatas"] or []],
                    vectors,
                )
            return self._examples_cache

    # -- glossary ----------------------------------------------------------

    def search_glossary(self, text: str, k: int = 3) -> list[GlossaryMatch]:
        """The ``k`` glossary entries closest to ``text``, best first."""
        return [
            GlossaryMatch(id=row_id, term=str(meta["term"]), text=doc, similarity=sim)
            for row_id, doc, meta, sim in self._query(GLOSSARY, text, k, None)
        ]

    # -- entities ----------------------------------------------------------

    def sync_entities(self, workspace: str, entities: Sequence[EntityName]) -> int:
        """Make ``workspace``'s entity names exactly ``entities``; return rows written.

        Names that are gone are deleted, new or renamed ones embedded;
        unchanged ones are left alone, so calling it again is cheap.
        """
        if not workspace:
            raise ValueError("entities need a workspace")
        wanted: dict[str, tuple[str, dict[str, Any]]] = {}
        for ent in entities:
            row_id = "ent:" + _digest(workspace, ent.kind, ent.entity_id)[:32]
            meta = {"workspace": workspace, "kind": ent.kind, "entity_id": ent.entity_id}
            wanted[row_id] = (ent.name, meta)
        with self._lock:
            col = self._collection(ENTITIES)
            have = col.get(where={"workspace": workspace}, include=["documents", "metadatas"])
            current = {
                i: (d, dict(m))
                for i, d, m in zip(
                    have["ids"], have["documents"] or [], have["metadatas"] or [], strict=True
                )
            }
            stale = [i for i in current if i not in wanted]
            for part in _chunks(len(stale)):
                col.delete(ids=stale[part])
            changed = [(i, d, m) for i, (d, m) in wanted.items() if current.get(i) != (d, m)]
            self._write(col, changed)
            return len(changed)

    def search_entities(
        self, workspace: str, text: str, k: int = 5, kinds: Sequence[str] | None = None
    ) -> list[EntityMatch]:
        """The ``k`` entity names of ``workspace`` closest to ``text`` (optionally of ``kinds``)."""
        where: dict[str, Any] = {"workspace": workspace}
        if kinds:
            where = {"$and": [where, {"kind": {"$in": list(kinds)}}]}
        return [
            EntityMatch(
                entity_id=str(meta["entity_id"]),
                name=doc,
                kind=str(meta["kind"]),
                workspace=str(meta["workspace"]),
                similarity=sim,
            )
            for _, doc, meta, sim in self._query(ENTITIES, text, k, where)
        ]

    # -- internals ---------------------------------------------------------

    def _query(
        self, name: str, text: str, k: int, where: dict[str, Any] | None
    ) -> list[tuple[str, str, Mapping[str, Any], float]]:
        if k <= 0:
            return []
        col = self._collection(name)
        if col.count() == 0:
            return []
        res = col.query(
            query_texts=[text],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = res["ids"][0]
        docs = (res["documents"] or [[]])[0]
        metas = (res["metadatas"] or [[]])[0]
        dists = (res["distances"] or [[]])[0]
        return [
            (i, d or "", m or {}, _similarity(x))
            for i, d, m, x in zip(ids, docs, metas, dists, strict=True)
        ]
