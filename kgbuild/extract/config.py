"""The extractor's configuration (``config.json`` beside its weights), apart from the network: a build reads it from
the model directory to check the model and key its ledger without importing torch (issue 15)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kgbuild.extract.decode import bio_labels_for


@dataclass
class ExtractorConfig:
    """Everything that shapes the heads; saved as ``config.json`` beside the weights."""

    entity_types: list[str]
    relation_types: list[str]
    coref: str = "learned"  # "learned" (coreference head) or "alias" (string rules only)
    max_len: int = 512  # encoder positions per chunk, [CLS] and [SEP] included
    block_size: int = 32  # group bilinear block size
    type_dim: int = 32
    context_pooling: bool = True
    dropout: float = 0.1
    freeze_embeddings: bool = True  # word embeddings stay those of the base encoder (smaller deltas, no drift)
    lora_rank: int = 0  # > 0: train LoRA adapters instead of the encoder's weights
    lora_alpha: int = 32
    coref_threshold: float = 0.5
    relation_top_k: int = 4
    # The cased signal beside an uncased encoder: a learned vector per word-shape id (features.token_shapes) added
    # to every subword's state, "output" (after the encoder, before every head) or "input" (to the word
    # embeddings, so the encoder's layers see it); "" (models saved before it existed) adds nothing.
    word_shapes: str = ""
    # Which entity pairs the relation head scores: "window" (both entities in one encoder window, as document-level
    # training data teaches) or "sentence" (both in one sentence: a model trained on single sentences, CoNLL04,
    # never saw a pair across sentences and scores one, say a dateline city and the story's first company, at random).
    relation_scope: str = "window"
    loss_weights: dict[str, float] = field(default_factory=lambda: {"entity": 1.0, "relation": 1.0, "coref": 1.0})

    @property
    def bio_labels(self) -> list[str]:
        return bio_labels_for(self.entity_types)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ExtractorConfig":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})
