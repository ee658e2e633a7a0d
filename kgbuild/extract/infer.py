"""Inference as named steps over encoded documents: encode chunks, tag words, group mentions, score pairs.

Used by the engine (raw documents), by evaluation (annotated documents, optionally with gold entities) and by
training-time evaluation, so every path decodes the same way. Chunks are encoded in length-sorted batches; their
states are concatenated unpadded, and all head indices point into that flat tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from kgbuild.extract.batching import DocInputs, coref_candidates, head_inputs, word_index
from kgbuild.extract.decode import (
    bio_to_spans,
    candidate_pairs,
    cluster_by_scores,
    decode_relations,
    group_by_alias,
    majority_type,
)
from kgbuild.extract.features import EncodedDoc
from kgbuild.extract.model import JointExtractor

PAIR_BLOCK = 1024  # entity pairs scored per relation-head call (bounds memory on long documents)
COREF_BLOCK = 8192


@dataclass
class DocPrediction:
    """Decoded output for one document: char-offset mentions, clusters of mention indices, cluster relations."""

    mentions: list[tuple[int, int, str, float]] = field(default_factory=list)
    clusters: list[list[int]] = field(default_factory=list)
    cluster_types: list[str] = field(default_factory=list)
    relations: list[tuple[int, int, str, float]] = field(default_factory=list)


@dataclass
class GoldEntities:
    """Given entities for relation-only prediction: typed char spans and their clusters."""

    mentions: list[tuple[int, int, str]]
    clusters: list[list[int]]


@torch.inference_mode()
def encode_chunks(model: JointExtractor, encs: Sequence[EncodedDoc], batch_size: int,
                  device: torch.device, dtype: torch.dtype | None) -> tuple[torch.Tensor, list[int]]:
    """All chunks through the encoder, shortest first in batches; returns the flat states and each chunk's start."""
    chunks = [c for e in encs for c in e.chunks]
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].ids))
    outputs: list[torch.Tensor | None] = [None] * len(chunks)
    for lo in range(0, len(order), batch_size):
        rows = order[lo : lo + batch_size]
        length = max(len(chunks[i].ids) for i in rows)
        ids = torch.zeros((len(rows), length), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, i in enumerate(rows):
            ids[r, : len(chunks[i].ids)] = torch.tensor(chunks[i].ids)
            mask[r, : len(chunks[i].ids)] = 1
        ids, mask = ids.to(device), mask.to(device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            states = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        for r, i in enumerate(rows):
            outputs[i] = states[r, : len(chunks[i].ids)]
    starts, position = [], 0
    for chunk in chunks:
        starts.append(position)
        position += len(chunk.ids)
    hidden = int(model.hidden)
    flat = torch.cat([o for o in outputs if o is not None]) if chunks else torch.zeros((0, hidden), device=device)
    return flat, starts


@torch.inference_mode()
def predict(
    model: JointExtractor,
    encs: Sequence[EncodedDoc],
    texts: Sequence[str],
    mask: np.ndarray,
    batch_size: int = 16,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    gold: Sequence[GoldEntities] | None = None,
) -> list[DocPrediction]:
    """Decode entities (or take ``gold`` ones), coreference clusters and schema-allowed relations per document."""
    config = model.config
    device = device or next(model.parameters()).device
    flat, starts = encode_chunks(model, encs, batch_size, device, dtype)
    flat = flat.float()
    inputs = [DocInputs(enc) for enc in encs]
    if gold is None:
        words = word_index(inputs, starts).to(device)
        probs = model.entity_head(flat[words]).softmax(-1).cpu().numpy() if len(words) else np.zeros((0, 1))
        mentions = _decode_mentions(encs, probs, config.bio_labels)
    else:
        mentions = [[(s, e, t, 1.0) for s, e, t in g.mentions] for g in gold]
    type_index = {t: i for i, t in enumerate(config.entity_types)}
    for d, enc in enumerate(encs):
        located = [enc.mention_tokens(s, e) for s, e, _, _ in mentions[d]]
        keep = [i for i, (_, pos) in enumerate(located) if pos]
        if len(keep) < len(located):  # no subword (cannot happen for decoded mentions): drop, keep indices aligned
            mentions[d] = [mentions[d][i] for i in keep]
            if gold is not None:
                gold = list(gold)
                remap = {old: new for new, old in enumerate(keep)}
                gold[d] = GoldEntities(gold[d].mentions, [[remap[m] for m in c if m in remap] for c in gold[d].clusters])
                gold[d].clusters = [c for c in gold[d].clusters if c]
            located = [located[i] for i in keep]
        inputs[d].mention_tokens = located
        texts_d = [texts[d][s:e] for s, e, _, _ in mentions[d]]
        types_d = [type_index[t] for _, _, t, _ in mentions[d]]
        inputs[d].coref_pairs, inputs[d].coref_features = coref_candidates(texts_d, types_d)
    heads = {k: v.to(device) for k, v in head_inputs(inputs, starts, len(config.relation_types), False).items()}
    mention_emb = model.mention_embeddings(flat, heads["mention_index"], heads["mention_mask"]) \
        if heads["mention_index"].shape[0] else torch.zeros((0, model.hidden), device=device)
    clusters = _clusters(model, inputs, mentions, mention_emb, heads, gold, texts)
    pair_types = mask.any(axis=0)
    results = []
    mention_base = 0
    for d, enc in enumerate(encs):
        n_mentions = len(mentions[d])
        doc_mentions = mention_emb[mention_base : mention_base + n_mentions]
        mention_base += n_mentions
        cluster_types = [majority_type([mentions[d][m][2] for m in c]) for c in clusters[d]]
        type_ids = [type_index[t] for t in cluster_types]
        windows = [set().union(*(set(enc.word_chunks[enc.words_in(*mentions[d][m][:2])[0]]) for m in c))
                   for c in clusters[d]]
        pairs = candidate_pairs(windows, type_ids, pair_types)
        relations: list[tuple[int, int, str, float]] = []
        if pairs:
            entity_emb = _entity_embeddings(model, doc_mentions, clusters[d], device)
            logits = _relation_logits(model, flat, enc, starts, inputs[d], entity_emb, type_ids, pairs, encs, d, device)
            for h, t, r, score in decode_relations(logits, pairs, type_ids, mask, config.relation_top_k):
                relations.append((h, t, config.relation_types[r], score))
        results.append(DocPrediction(mentions[d], clusters[d], cluster_types, relations))
    return results


def _decode_mentions(encs: Sequence[EncodedDoc], probs: np.ndarray, labels: Sequence[str]) -> list[list[tuple[int, int, str, float]]]:
    out, row = [], 0
    for enc in encs:
        p = probs[row : row + len(enc.words)]
        row += len(enc.words)
        tags = [labels[i] for i in p.argmax(-1)] if len(p) else []
        spans = bio_to_spans(tags, p.max(-1).tolist() if len(p) else None)
        out.append([(enc.words[a][0], enc.words[b - 1][1], t, s) for a, b, t, s in spans])
    return out


def _clusters(model: JointExtractor, inputs: Sequence[DocInputs], mentions: Sequence[Sequence[tuple[int, int, str, float]]],
              mention_emb: torch.Tensor, heads: dict[str, torch.Tensor], gold: Sequence[GoldEntities] | None,
              texts: Sequence[str]) -> list[list[list[int]]]:
    """Gold clusters, learned coreference (average linkage over pair probabilities) or alias rules."""
    if gold is not None:
        return [[list(c) for c in g.clusters] for g in gold]
    if model.config.coref != "learned":
        return [group_by_alias([texts[d][s:e] for s, e, _, _ in ms], [t for _, _, t, _ in ms]) for d, ms in enumerate(mentions)]
    index, features = heads["coref_index"], heads["coref_features"]
    probs = torch.cat([
        model.coref_logits(mention_emb, index[lo : lo + COREF_BLOCK], features[lo : lo + COREF_BLOCK]).float().sigmoid()
        for lo in range(0, index.shape[0], COREF_BLOCK)
    ]).cpu().numpy() if index.shape[0] else np.zeros(0)
    out, row, base = [], 0, 0
    for d, doc in enumerate(inputs):
        k = len(doc.coref_pairs)
        out.append(cluster_by_scores(len(mentions[d]), doc.coref_pairs, probs[row : row + k], model.config.coref_threshold))
        row += k
        base += len(mentions[d])
    return out


def _entity_embeddings(model: JointExtractor, mentions: torch.Tensor, clusters: Sequence[Sequence[int]],
                       device: torch.device) -> torch.Tensor:
    width = max(len(c) for c in clusters)
    index = torch.zeros((len(clusters), width), dtype=torch.long)
    valid = torch.zeros((len(clusters), width), dtype=torch.bool)
    for i, c in enumerate(clusters):
        index[i, : len(c)] = torch.tensor(c)
        valid[i, : len(c)] = True
    return model.entity_embeddings(mentions, index.to(device), valid.to(device))


def _relation_logits(model: JointExtractor, flat: torch.Tensor, enc: EncodedDoc, starts: Sequence[int],
                     doc: DocInputs, entity_emb: torch.Tensor, type_ids: Sequence[int], pairs: Sequence[tuple[int, int]],
                     encs: Sequence[EncodedDoc], d: int, device: torch.device) -> np.ndarray:
    """``[pairs, 1 + relations]`` logits for one document, in blocks of :data:`PAIR_BLOCK` pairs."""
    first_chunk = sum(len(e.chunks) for e in encs[:d])
    context = [starts[first_chunk + c] + p for c, chunk in enumerate(enc.chunks) for p in range(1, len(chunk.ids) - 1)]
    context_index = torch.tensor([context], dtype=torch.long, device=device)
    context_mask = torch.ones_like(context_index, dtype=torch.bool)
    types = torch.tensor(type_ids, dtype=torch.long, device=device)
    blocks = []
    for lo in range(0, len(pairs), PAIR_BLOCK):
        block = torch.tensor([pairs[lo : lo + PAIR_BLOCK]], dtype=torch.long, device=device)
        logits = model.relation_logits(flat, entity_emb, types, context_index, context_mask, block,
                                       torch.ones(block.shape[:2], dtype=torch.bool, device=device))
        blocks.append(logits[0].float().cpu().numpy())
    return np.concatenate(blocks)
