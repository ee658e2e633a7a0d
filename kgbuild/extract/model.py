"""The joint extractor: one encoder pass per chunk feeds an entity head, a coreference head and a relation head.

- Entity head: BIO tags on the first subword of each word (one linear layer).
- Mentions: logsumexp over their subword states; entities: logsumexp over their mentions (ATLOP).
- Coreference head: an MLP over (m_i, m_j, m_i * m_j, string features) for mention pairs of one type.
- Relation head (ATLOP): a pair-specific context vector (attention of the pair's query over the document's tokens),
  head/tail projections with entity-type embeddings, a group bilinear classifier, and the adaptive-threshold loss:
  class 0 is a learned per-pair threshold, so "no relation" needs no tuned cut-off.

Every index tensor is global to the batch (see :mod:`kgbuild.extract.batching`), so each head runs as a few
batched tensor operations whatever the number of documents. ``forward(**batch)`` returns its own loss.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from kgbuild.extract.decode import N_STRING_FEATURES, bio_labels_for
from kgbuild.extract.features import N_SHAPES

SHAPE_SCALE = 32.0  # shape vectors are stored divided by this: they learn that many times faster than the encoder


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


class JointExtractor(nn.Module):
    """Encoder + entity, coreference and relation heads; see the module docstring."""

    def __init__(self, encoder: nn.Module, config: ExtractorConfig):
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.hidden = hidden
        self.dropout = nn.Dropout(config.dropout)
        self.entity_head = nn.Linear(hidden, len(config.bio_labels))
        self.type_embedding = nn.Embedding(len(config.entity_types), config.type_dim)
        side = hidden * (2 if config.context_pooling else 1) + config.type_dim
        self.context_query = nn.Linear(2 * hidden, hidden) if config.context_pooling else None
        if hidden % config.block_size:
            raise ValueError(f"hidden size {hidden} is not a multiple of block_size {config.block_size}")
        self.head_proj = nn.Linear(side, hidden)
        self.tail_proj = nn.Linear(side, hidden)
        self.bilinear = nn.Linear(hidden * config.block_size, len(config.relation_types) + 1)
        self.coref_head = nn.Sequential(
            nn.Linear(3 * hidden + N_STRING_FEATURES, hidden), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(hidden, 1)
        )
        if config.word_shapes not in ("", "output", "input"):
            raise ValueError(f"word_shapes must be '', 'output' or 'input', got {config.word_shapes!r}")
        self.shape_embedding = None
        if config.word_shapes:
            # zero at first: a model given shapes starts out predicting exactly as the model it starts from
            self.shape_embedding = nn.Embedding(N_SHAPES, hidden, padding_idx=0)
            nn.init.zeros_(self.shape_embedding.weight)

    # ------------------------------------------------------------ steps (each usable alone at inference)

    def encode(self, input_ids: Tensor, attention_mask: Tensor, shape_ids: Tensor | None = None) -> Tensor:
        """Chunk states flattened to ``[chunks * length, hidden]`` so that global positions index them."""
        states = self.run_encoder(input_ids, attention_mask, shape_ids)
        return states.reshape(-1, states.shape[-1])

    def run_encoder(self, input_ids: Tensor, attention_mask: Tensor, shape_ids: Tensor | None = None) -> Tensor:
        """``[chunks, length, hidden]`` states, with the word-shape vectors where the config puts them."""
        if self.shape_embedding is None:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if shape_ids is None:
            raise ValueError("this model reads word shapes: pass shape_ids (features.token_shapes)")
        shapes = self.shape_embedding(shape_ids) * SHAPE_SCALE
        if self.config.word_shapes == "input":
            embeds = self.encoder.get_input_embeddings()(input_ids) + shapes
            return self.encoder(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return states + shapes.to(states.dtype)

    def entity_logits(self, flat: Tensor, word_index: Tensor) -> Tensor:
        """``[words, tags]`` BIO logits at each word's first subword."""
        return self.entity_head(self.dropout(flat[word_index]))

    def mention_embeddings(self, flat: Tensor, mention_index: Tensor, mention_mask: Tensor) -> Tensor:
        """``[mentions, hidden]``: logsumexp over each mention's subwords (a smooth max)."""
        states = flat[mention_index].float()  # [M, S, H]
        states = states.masked_fill(~mention_mask[..., None], -1e4)
        return torch.logsumexp(states, dim=1)

    def entity_embeddings(self, mentions: Tensor, cluster_index: Tensor, cluster_mask: Tensor) -> Tensor:
        """``[entities, hidden]``: logsumexp over each entity's mention embeddings."""
        states = mentions[cluster_index].masked_fill(~cluster_mask[..., None], -1e4)
        return torch.logsumexp(states, dim=1)

    def coref_logits(self, mentions: Tensor, coref_index: Tensor, coref_features: Tensor) -> Tensor:
        """``[pairs]`` logits that two mentions refer to the same entity."""
        a, b = mentions[coref_index[:, 0]], mentions[coref_index[:, 1]]
        features = torch.cat([a, b, a * b, coref_features.to(a.dtype)], dim=-1)
        return self.coref_head(self.dropout(features)).squeeze(-1)

    def relation_logits(
        self,
        flat: Tensor,
        entities: Tensor,
        entity_types: Tensor,
        context_index: Tensor,
        context_mask: Tensor,
        pair_index: Tensor,
        pair_mask: Tensor,
        allowed: Tensor | None = None,
    ) -> Tensor:
        """``[docs, pairs, 1 + relations]`` logits; column 0 is the adaptive threshold.

        With ``allowed`` (``[types, types, 1 + relations]`` bool, column 0 true), each pair gets logits only for
        the relations its head and tail types allow, ``-inf`` elsewhere: inference never emits those, and on
        Re-DocRED's schema this skips most of the group-bilinear work (see :meth:`_bilinear_allowed`).
        """
        if not self.training:
            z_head, z_tail = self._pair_states_factored(flat, entities, entity_types, context_index, context_mask, pair_index)
        else:
            z_head, z_tail = self._pair_states(flat, entities, entity_types, context_index, context_mask, pair_index)
        if allowed is not None:
            pair_types = entity_types[pair_index[..., 0]] * allowed.shape[1] + entity_types[pair_index[..., 1]]
            return self._bilinear_allowed(z_head, z_tail, pair_types, pair_mask, allowed.reshape(-1, allowed.shape[-1]))
        return self.bilinear(self._grouped(z_head, z_tail))

    def _pair_states(self, flat: Tensor, entities: Tensor, entity_types: Tensor, context_index: Tensor,
                     context_mask: Tensor, pair_index: Tensor) -> tuple[Tensor, Tensor]:
        """``z_head, z_tail [D, P, H]``: each pair's head and tail states (ATLOP: entity, pair context, type)."""
        heads, tails = entities[pair_index[..., 0]], entities[pair_index[..., 1]]  # [D, P, H]
        head_parts = [heads]
        tail_parts = [tails]
        if self.context_query is not None:
            context = flat[context_index].float()  # [D, T, H]
            query = self.context_query(torch.cat([heads, tails], dim=-1)).float()  # [D, P, H]
            scores = torch.bmm(query, context.transpose(1, 2)) / math.sqrt(self.hidden)  # [D, P, T]
            scores = scores.masked_fill(~context_mask[:, None, :], -1e4)
            pooled = torch.bmm(scores.softmax(-1), context)  # [D, P, H]
            head_parts.append(pooled)
            tail_parts.append(pooled)
        head_parts.append(self.type_embedding(entity_types[pair_index[..., 0]]))
        tail_parts.append(self.type_embedding(entity_types[pair_index[..., 1]]))
        z_head = torch.tanh(self.head_proj(self.dropout(torch.cat(head_parts, -1).to(heads.dtype))))
        z_tail = torch.tanh(self.tail_proj(self.dropout(torch.cat(tail_parts, -1).to(heads.dtype))))
        return z_head, z_tail

    def _pair_states_factored(self, flat: Tensor, entities: Tensor, entity_types: Tensor, context_index: Tensor,
                              context_mask: Tensor, pair_index: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`_pair_states` without dropout, computed as it is cheaper: a linear map of a concatenation is the
        sum of its blocks' maps, so the entity and type blocks are mapped once per entity and per type and only the
        pair context block once per pair (a document has ~20 entities and ~400 pairs; 1.9x faster on Re-DocRED)."""
        h = self.hidden
        head_of, tail_of = pair_index[..., 0], pair_index[..., 1]
        types = self.type_embedding.weight
        z_head = (entities @ self.head_proj.weight[:, :h].T)[head_of] + self.head_proj.bias
        z_tail = (entities @ self.tail_proj.weight[:, :h].T)[tail_of] + self.tail_proj.bias
        z_head = z_head + (types @ self.head_proj.weight[:, -self.config.type_dim :].T)[entity_types[head_of]]
        z_tail = z_tail + (types @ self.tail_proj.weight[:, -self.config.type_dim :].T)[entity_types[tail_of]]
        if self.context_query is not None:
            q = self.context_query
            query = (entities @ q.weight[:, :h].T)[head_of] + (entities @ q.weight[:, h:].T)[tail_of] + q.bias  # [D, P, H]
            context = flat[context_index].float()  # [D, T, H]
            scores = torch.bmm(query.float(), context.transpose(1, 2)) / math.sqrt(h)
            pooled = torch.bmm(scores.masked_fill(~context_mask[:, None, :], -1e4).softmax(-1), context)  # [D, P, H]
            z_head = z_head + pooled.to(z_head.dtype) @ self.head_proj.weight[:, h : 2 * h].T
            z_tail = z_tail + pooled.to(z_tail.dtype) @ self.tail_proj.weight[:, h : 2 * h].T
        return torch.tanh(z_head), torch.tanh(z_tail)

    def _grouped(self, z_head: Tensor, z_tail: Tensor) -> Tensor:
        """ATLOP's group bilinear features: per block of ``k`` dimensions, the outer product of head and tail."""
        k = self.config.block_size
        lead = z_head.shape[:-1]
        b1 = z_head.reshape(*lead, self.hidden // k, k)
        b2 = z_tail.reshape(*lead, self.hidden // k, k)
        return (b1.unsqueeze(-1) * b2.unsqueeze(-2)).reshape(*lead, self.hidden * k)  # [..., H*k]

    def _bilinear_allowed(self, z_head: Tensor, z_tail: Tensor, pair_types: Tensor, pair_mask: Tensor,
                          allowed: Tensor) -> Tensor:
        """The bilinear layer per (head type, tail type) group, on that group's allowed columns only."""
        d, p = z_head.shape[:2]
        out = z_head.new_full((d * p, allowed.shape[-1]), float("-inf"))
        types, valid = pair_types.reshape(-1), pair_mask.reshape(-1)
        heads, tails = z_head.reshape(d * p, -1), z_tail.reshape(d * p, -1)
        for type_pair in torch.unique(types[valid]).tolist():
            rows = torch.nonzero(valid & (types == type_pair)).squeeze(-1)
            columns = torch.nonzero(allowed[type_pair]).squeeze(-1)
            grouped = self._grouped(heads[rows], tails[rows])
            out[rows[:, None], columns[None, :]] = F.linear(grouped, self.bilinear.weight[columns], self.bilinear.bias[columns])
        return out.reshape(d, p, -1)

    # ------------------------------------------------------------ training

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        word_index: Tensor,
        word_labels: Tensor | None = None,
        mention_index: Tensor | None = None,
        mention_mask: Tensor | None = None,
        cluster_index: Tensor | None = None,
        cluster_mask: Tensor | None = None,
        entity_types: Tensor | None = None,
        context_index: Tensor | None = None,
        context_mask: Tensor | None = None,
        pair_index: Tensor | None = None,
        pair_mask: Tensor | None = None,
        pair_labels: Tensor | None = None,
        coref_index: Tensor | None = None,
        coref_features: Tensor | None = None,
        coref_labels: Tensor | None = None,
        shape_ids: Tensor | None = None,
        word_allowed: Tensor | None = None,
        **_: Any,
    ) -> dict[str, Tensor]:
        """Teacher-forced training step: relations and coreference are scored on the gold mentions.

        ``word_allowed`` (``[words, tags]`` bool), where given, is the set of tags each word may have: the loss is
        the probability of the set (a dataset that does not annotate a type allows O or that type's tags)."""
        flat = self.encode(input_ids, attention_mask, shape_ids)
        weights = self.config.loss_weights
        out: dict[str, Tensor] = {}
        logits = self.entity_logits(flat, word_index)
        loss = logits.new_zeros((), dtype=torch.float32)
        if word_allowed is not None:
            log_probs = logits.float().log_softmax(-1)
            out["entity_loss"] = -torch.logsumexp(log_probs.masked_fill(~word_allowed, -1e4), dim=-1).mean()
            loss = loss + weights.get("entity", 1.0) * out["entity_loss"]
        elif word_labels is not None:
            out["entity_loss"] = F.cross_entropy(logits.float(), word_labels)
            loss = loss + weights.get("entity", 1.0) * out["entity_loss"]
        if mention_index is not None and mention_index.shape[0] > 0:
            mentions = self.mention_embeddings(flat, mention_index, mention_mask)
            if pair_labels is not None and pair_mask is not None and bool(pair_mask.any()):
                entities = self.entity_embeddings(mentions, cluster_index, cluster_mask)
                rel = self.relation_logits(flat, entities, entity_types, context_index, context_mask, pair_index, pair_mask)
                out["relation_loss"] = adaptive_threshold_loss(rel[pair_mask], pair_labels[pair_mask])
                loss = loss + weights.get("relation", 1.0) * out["relation_loss"]
            if self.config.coref == "learned" and coref_labels is not None and coref_labels.numel() > 0:
                coref = self.coref_logits(mentions, coref_index, coref_features)
                out["coref_loss"] = F.binary_cross_entropy_with_logits(coref.float(), coref_labels.float())
                loss = loss + weights.get("coref", 1.0) * out["coref_loss"]
        out["loss"] = loss
        return out


def adaptive_threshold_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """ATLOP's loss (Zhou et al. 2021). ``labels[:, 1:]`` are multi-hot relations; column 0 is the threshold class.

    Positives are pushed above the threshold logit, negatives below it, so decoding needs no global cut-off.
    """
    logits = logits.float()
    labels = labels.float().clone()
    labels[:, 0] = 0.0
    threshold = torch.zeros_like(labels)
    threshold[:, 0] = 1.0
    positive_side = labels + threshold
    negative_side = 1.0 - labels
    big = 1e30
    loss_pos = -(F.log_softmax(logits - (1 - positive_side) * big, dim=-1) * labels).sum(-1)
    loss_neg = -(F.log_softmax(logits - (1 - negative_side) * big, dim=-1) * threshold).sum(-1)
    return (loss_pos + loss_neg).mean()


def load_encoder(path_or_id: str, lora_rank: int = 0, lora_alpha: int = 32, freeze_embeddings: bool = True) -> nn.Module:
    """A transformers ``AutoModel`` (no pooler), optionally wrapped with LoRA adapters via peft."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        encoder = AutoModel.from_pretrained(path_or_id, add_pooling_layer=False)
    except TypeError:  # architectures without a pooler flag
        encoder = AutoModel.from_pretrained(path_or_id)
    encoder = encoder.float()  # a base stored in fp16 trains in fp32 (autocast handles mixed precision)
    return prepare_encoder(encoder, lora_rank, lora_alpha, freeze_embeddings)


def prepare_encoder(encoder: nn.Module, lora_rank: int, lora_alpha: int, freeze_embeddings: bool) -> nn.Module:
    """Freeze word embeddings and/or wrap with LoRA, as the config says."""
    if lora_rank > 0:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=lora_rank, lora_alpha=lora_alpha, lora_dropout=0.1,
                          target_modules=r".*\.(query|key|value|dense)$")
        with peft_quiet():
            encoder = get_peft_model(encoder, lora)
    elif freeze_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    return encoder


def new_model(base_location: str, entity_types: list[str], relation_types: list[str], **overrides: Any) -> JointExtractor:
    """A fresh extractor over a pretrained encoder: heads initialised, the encoder as ``overrides`` configure it."""
    config = ExtractorConfig(entity_types=list(entity_types), relation_types=list(relation_types), **overrides)
    encoder = load_encoder(base_location, config.lora_rank, config.lora_alpha, config.freeze_embeddings)
    max_positions = int(getattr(encoder.config, "max_position_embeddings", config.max_len) or config.max_len)
    config.max_len = min(config.max_len, max_positions)
    return JointExtractor(encoder, config)


@contextmanager
def peft_quiet() -> Iterator[None]:
    """Wrapping an encoder with peft reads ``model.is_gradient_checkpointing``, which transformers 4.5x deprecates
    with a FutureWarning on every build; only that warning is silenced, and only around peft's call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield
