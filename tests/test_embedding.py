"""The offline MiniLM embedding: shape, normalization, quality, batching, chromadb protocol."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from assistant import embedding
from assistant.embedding import DIMENSIONS, MiniLMEmbedding, embed

SENTENCES = [
    "who never logged in",
    "which users have not logged in yet",
    "top resources by views",
    "How many active partners did we have last month in the EMEA workspace?",
    "Show me the download trend for the onboarding guide over the past 90 days.",
    "adoption rate",
    "a",
    "Ünïcödé tëxt — with punctuation!? and numbers 12345",
    "",
]


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    """One shared embedding run (the ONNX session is process-wide anyway)."""
    embedding.warm_up()
    return embed(SENTENCES)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_shape_dtype_and_unit_length(vectors: np.ndarray) -> None:
    assert vectors.shape == (len(SENTENCES), DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic(vectors: np.ndarray) -> None:
    np.testing.assert_array_equal(embed(SENTENCES), vectors)


def test_paraphrase_scores_higher_than_unrelated(vectors: np.ndarray) -> None:
    query, paraphrase, unrelated = vectors[0], vectors[1], vectors[2]
    assert cos(query, paraphrase) > 0.6
    assert cos(query, unrelated) < 0.3
    assert cos(query, paraphrase) - cos(query, unrelated) > 0.4


def test_batches_match_one_by_one(vectors: np.ndarray) -> None:
    single = np.stack([embed([s])[0] for s in SENTENCES])
    np.testing.assert_allclose(single, vectors, atol=1e-5)
    small_batches = embed(SENTENCES, batch_size=2)
    np.testing.assert_allclose(small_batches, vectors, atol=1e-5)


def test_order_is_kept_when_lengths_differ() -> None:
    texts = ["a much longer sentence about partner deal registrations", "hi", "mid length"]
    forward = embed(texts)
    backward = embed(texts[::-1])
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)


def test_empty_input() -> None:
    out = embed([])
    assert out.shape == (0, DIMENSIONS)
    assert out.dtype == np.float32


def test_string_instead_of_list_is_refused() -> None:
    with pytest.raises(TypeError):
        embed("who never logged in")  # type: ignore[arg-type]


def test_very_long_input_is_truncated() -> None:
    words = "engagement analytics for customer and partner portals " * 100
    long, longer = embed([words, words * 3])
    assert np.isfinite(long).all()
    # Both are cut at 256 tokens, so they embed the same prefix.
    np.testing.assert_allclose(long, longer, atol=1e-5)


def test_concurrent_callers_share_the_session(vectors: np.ndarray) -> None:
    results: list[np.ndarray] = []
    lock = threading.Lock()

    def work() -> None:
        out = embed(SENTENCES)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for out in results:
        np.testing.assert_allclose(out, vectors, atol=1e-5)


def test_chromadb_embedding_function_protocol(vectors: np.ndarray) -> None:
    from chromadb.utils.embedding_functions import (
        config_to_embedding_function,
        known_embedding_functions,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ef = MiniLMEmbedding()
        out = ef(SENTENCES[:3])
        assert not ef.is_legacy()
        rebuilt = config_to_embedding_function(
            {"name": ef.name(), "type": "known", "config": ef.get_config()}
        )
    assert known_embedding_functions[MiniLMEmbedding.name()] is MiniLMEmbedding
    assert isinstance(rebuilt, MiniLMEmbedding)
    assert ef.default_space() == "cosine"
    assert len(out) == 3
    assert all(len(v) == DIMENSIONS for v in out)
    np.testing.assert_allclose(np.array(out), vectors[:3], atol=1e-6)
