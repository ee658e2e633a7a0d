"""Inference as named steps over encoded documents: encode chunks, tag words, group mentions, score pairs.

Used by the engine (raw documents), by evaluation (annotated documents, optionally with gold entities) and by
training-time evaluation, so every path decodes the same way. Chunks are encoded in length-sorted batches; their
states are concatenated unpadded, and all head indices point into that flat tensor.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from kgbuild.extract.batching import DocInputs, coref_candidates, head_inputs, shape_tensor, word_index
from kgbuild.extract.decode import (
    bio_to_spans,
    candidate_pairs,
    constrained_tags,
    cluster_by_scores,
    decode_relations,
    group_by_alias,
    join_touching,
    majority_type,
    relation_columns,
)
from kgbuild.extract.features import EncodedDoc
from kgbuild.extract.model import JointExtractor, RelationColumns
from kgbuild.extract.spans import (
    join_ampersand,
    join_dangling,
    location_type,
    name_pieces,
    names_something,
    place_in_dateline,
    snap,
    split_person_names,
)
from kgbuild.extract.states import pool_states
from kgbuild.records import Extraction, Mention, MentionStates, RelationMention
from kgbuild.segment.layout import crosses, hard_breaks
from kgbuild.timing import Laps

PAIR_BLOCK = 1024  # entity pairs scored per relation-head call (bounds memory on long documents)
COREF_BLOCK = 8192


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
        shapes = shape_tensor([chunks[i] for i in rows], length).to(device) if model.shape_embedding is not None else None
        ids, mask = ids.to(device), mask.to(device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            states = model.run_encoder(ids, mask, shapes)
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
    doc_ids: Sequence[str] | None = None,
    sentences: Sequence[Sequence[tuple[int, int]]] | None = None,
    states: bool = False,
) -> list[Extraction]:
    """Decode entities (or take ``gold`` ones), coreference clusters and schema-allowed relations per document.

    ``sentences`` (character spans per document) confine relation pairs to one sentence when the model's
    ``relation_scope`` is "sentence"; without them pairs need a common window.

    Scores are rounded to 6 decimals; relations carry no evidence yet (that needs the document's sentences, see
    ``kgbuild.extract.engine.with_evidence``). ``states``: each extraction also carries its mentions' pooled encoder
    states (:mod:`kgbuild.extract.states`), from this same pass, for fusion."""
    config = model.config
    device = device or next(model.parameters()).device
    laps = Laps()
    flat, starts = encode_chunks(model, encs, batch_size, device, dtype)
    flat = flat.float()
    laps.mark("extract: encoder")
    inputs = [DocInputs(enc) for enc in encs]
    if gold is None:
        words = word_index(inputs, starts).to(device)
        probs = model.entity_head(flat[words]).softmax(-1).cpu().numpy() if len(words) else np.zeros((0, 1))
        mentions = _decode_mentions(encs, texts, probs, config.bio_labels)
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
    pooled = pool_states(flat, starts, encs, [doc.mention_tokens for doc in inputs],
                         word_embeddings=_word_embeddings(model)) if states else [None] * len(encs)
    heads = {k: v.to(device) for k, v in head_inputs(inputs, starts, len(config.relation_types), False).items()}
    mention_emb = model.mention_embeddings(flat, heads["mention_index"], heads["mention_mask"]) \
        if heads["mention_index"].shape[0] else torch.zeros((0, model.hidden), device=device)
    clusters = _clusters(model, inputs, mentions, mention_emb, heads, gold, texts)
    laps.mark("extract: entity and coreference heads")
    pair_types = mask.any(axis=0)
    cluster_types: list[list[str]] = []
    for d, enc in enumerate(encs):
        cluster_types.append([majority_type([mentions[d][m][2] for m in c]) for c in clusters[d]])
        inputs[d].clusters = clusters[d]
        inputs[d].entity_types = [type_index[t] for t in cluster_types[d]]
        if config.relation_scope == "sentence" and sentences is not None:
            # a pair must meet in one sentence, inside one chunk
            where = sentence_of([s for s, _ in sentences[d]], [start for start, _, _, _ in mentions[d]])
            windows = [set().union(*({(k, where[m]) for k in enc.word_chunks[enc.words_in(*mentions[d][m][:2])[0]]}
                                     for m in c)) for c in clusters[d]]
        else:
            windows = [set().union(*(set(enc.word_chunks[enc.words_in(*mentions[d][m][:2])[0]]) for m in c))
                       for c in clusters[d]]
        inputs[d].pairs = candidate_pairs(windows, inputs[d].entity_types, pair_types)
    allowed = model.prepared_columns(relation_columns(mask))  # gathered once per model and mask, then kept
    logits = _relation_logits(model, flat, starts, inputs, mention_emb, allowed, device)
    laps.mark("extract: relation head")
    results = []
    for d in range(len(encs)):
        doc_id = doc_ids[d] if doc_ids is not None else ""
        relations = tuple(
            RelationMention(doc_id, h, t, config.relation_types[r], round(float(score), 6))
            for h, t, r, score in decode_relations(logits[d], inputs[d].pairs, inputs[d].entity_types, mask,
                                                   config.relation_top_k)
        )
        found = tuple(Mention(doc_id, s, e, texts[d][s:e], t, round(float(score), 6)) for s, e, t, score in mentions[d])
        results.append(Extraction(doc_id, found, tuple(tuple(c) for c in clusters[d]), relations, pooled[d]))
    laps.mark("extract: decode relations")
    return results


@torch.inference_mode()
def mention_states(model: JointExtractor, encs: Sequence[EncodedDoc], spans: Sequence[Sequence[tuple[int, int]]],
                   batch_size: int = 16, device: torch.device | None = None,
                   dtype: torch.dtype | None = None) -> list[MentionStates]:
    """Pooled encoder states of given mentions (character spans) per document: one encoder pass, no heads.

    For mentions the extractor did not find itself (gold mentions in evaluation and fusion calibration); a build
    gets the same vectors from :func:`predict` with ``states=True``, without this second pass."""
    device = device or next(model.parameters()).device
    flat, starts = encode_chunks(model, encs, batch_size, device, dtype)
    located = []
    for enc, doc_spans in zip(encs, spans):
        found = [enc.mention_tokens(s, e) for s, e in doc_spans]
        missing = [span for span, (_, positions) in zip(doc_spans, found) if not positions]
        if missing:
            raise ValueError(f"mention span {missing[0]} covers no encoder token")
        located.append(found)
    return pool_states(flat.float(), starts, encs, located, word_embeddings=_word_embeddings(model))


def _word_embeddings(model: JointExtractor) -> torch.Tensor | None:
    """The encoder's input embedding matrix (a lookup, no forward pass), or None if it has none."""
    get = getattr(model.encoder, "get_input_embeddings", None)
    layer = get() if get is not None else None
    return layer.weight if layer is not None else None


def _decode_mentions(encs: Sequence[EncodedDoc], texts: Sequence[str], probs: np.ndarray,
                     labels: Sequence[str]) -> list[list[tuple[int, int, str, float]]]:
    """Character-offset mentions from word tags (see kgbuild.extract.spans): the best valid BIO sequence, in which a
    layout break ends every span; spans grow to whole words and join across " & ", people's names end at a number or
    a lower-case word, a dateline's place is a place, touching spans of one type are joined, spans with no letter
    dropped."""
    out, row = [], 0
    place = location_type([label[2:] for label in labels if label[:2] in ("B-", "I-")])
    for enc, text in zip(encs, texts):
        p = probs[row : row + len(enc.words)]
        row += len(enc.words)
        breaks = hard_breaks(text)
        fresh = [k for k in range(1, len(p)) if crosses(breaks, enc.words[k - 1][1], enc.words[k][0] + 1)]
        best = constrained_tags(p, labels, fresh)
        spans = bio_to_spans([labels[i] for i in best], p[np.arange(len(best)), best].tolist() if best else None)
        chars = [(enc.words[a][0], enc.words[b - 1][1], t, s) for a, b, t, s in spans]
        if chars:
            chars = join_dangling(text, join_ampersand(text, snap(text, chars, name_pieces(text, chars))))
            chars = split_person_names(text, chars)
            chars = place_in_dateline(text, chars, place)
        joined = join_touching(chars)
        out.append([m for m in joined if names_something(text[m[0] : m[1]], m[2])])
    return out


def sentence_of(sentence_starts: Sequence[int], offsets: Sequence[int]) -> list[int]:
    """The index of the sentence each character offset falls in (``sentence_starts`` sorted; before the first: 0)."""
    return [max(0, bisect_right(sentence_starts, offset) - 1) for offset in offsets]


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


def _relation_logits(model: JointExtractor, flat: torch.Tensor, starts: Sequence[int], inputs: Sequence[DocInputs],
                     mention_emb: torch.Tensor, allowed: RelationColumns, device: torch.device) -> list[np.ndarray]:
    """``[pairs, 1 + relations]`` logits per document, ``-inf`` where ``allowed[head type, tail type]`` is false
    (decoding never emits those; see ``JointExtractor.relation_logits``). Documents are scored together, in blocks of at most
    :data:`PAIR_BLOCK` pairs (a document with more pairs is scored alone, block by block), so short documents cost
    one head call per block rather than one each."""
    out: list[np.ndarray] = [np.zeros((0, len(model.config.relation_types) + 1))] * len(inputs)
    cluster_rows, entity_base, mention_base = [], [], 0
    for doc in inputs:
        entity_base.append(len(cluster_rows))
        cluster_rows.extend([[mention_base + m for m in c] for c in doc.clusters])
        mention_base += len(doc.mention_tokens)
    if not cluster_rows or not any(doc.pairs for doc in inputs):
        return out
    width = max(len(r) for r in cluster_rows)
    index = torch.tensor([r + [r[0]] * (width - len(r)) for r in cluster_rows], device=device)
    valid = torch.tensor([[True] * len(r) + [False] * (width - len(r)) for r in cluster_rows], device=device)
    entities = model.entity_embeddings(mention_emb, index, valid)
    types = torch.tensor([t for doc in inputs for t in doc.entity_types], dtype=torch.long, device=device)
    first_chunk = np.cumsum([0] + [len(doc.enc.chunks) for doc in inputs])
    jobs: list[tuple[int, int, int]] = []  # (document, first pair, end pair)
    for d, doc in enumerate(inputs):
        jobs.extend((d, lo, min(lo + PAIR_BLOCK, len(doc.pairs))) for lo in range(0, len(doc.pairs), PAIR_BLOCK))
    blocks: list[list[tuple[int, int, int]]] = []
    for job in jobs:
        size = job[2] - job[1]
        if blocks and sum(e - b for _, b, e in blocks[-1]) + size <= PAIR_BLOCK \
                and (len(blocks[-1]) + 1) * max(size, *(e - b for _, b, e in blocks[-1])) <= 2 * PAIR_BLOCK:
            blocks[-1].append(job)
        else:
            blocks.append([job])
    pieces: dict[int, list[np.ndarray]] = {}
    for block in blocks:
        contexts = [[starts[first_chunk[d] + c] + p for c, chunk in enumerate(inputs[d].enc.chunks)
                     for p in range(1, len(chunk.ids) - 1)] for d, _, _ in block]
        pairs = [[(entity_base[d] + h, entity_base[d] + t) for h, t in inputs[d].pairs[lo:hi]] for d, lo, hi in block]
        t_width, p_width = max(len(c) for c in contexts), max(len(p) for p in pairs)
        context_index = torch.tensor([c + [c[0]] * (t_width - len(c)) for c in contexts], device=device)
        context_mask = torch.tensor([[True] * len(c) + [False] * (t_width - len(c)) for c in contexts], device=device)
        pair_index = torch.tensor([p + [p[0]] * (p_width - len(p)) for p in pairs], device=device)
        pair_mask = torch.tensor([[True] * len(p) + [False] * (p_width - len(p)) for p in pairs], device=device)
        logits = model.relation_logits(flat, entities, types, context_index, context_mask, pair_index, pair_mask, allowed)
        logits = logits.float().cpu().numpy()
        for row, (d, lo, hi) in enumerate(block):
            pieces.setdefault(d, []).append(logits[row, : hi - lo])
    for d, parts in pieces.items():
        out[d] = np.concatenate(parts)
    return out
