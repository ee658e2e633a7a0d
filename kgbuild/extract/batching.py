"""Per-document head inputs and their collation into one batch of global index tensors.

A :class:`DocInputs` says, for one document, which subwords make each mention, which mentions make each entity,
which entity pairs and mention pairs to score, and (in training) the gold labels. :func:`collate` stacks the chunks
of all documents into ``input_ids [chunks, length]`` and turns every index into a position in the flattened
``[chunks * length]`` encoder output, so each head of :class:`~kgbuild.extract.model.JointExtractor` runs batched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Mapping, Sequence

import torch

from kgbuild.extract.decode import N_STRING_FEATURES, string_features
from kgbuild.extract.features import Chunk, EncodedDoc, bio_labels


@dataclass
class DocInputs:
    """One document's head inputs; label fields are None at inference."""

    enc: EncodedDoc
    mention_tokens: list[tuple[int, list[int]]] = field(default_factory=list)  # (chunk, token positions)
    clusters: list[list[int]] = field(default_factory=list)
    entity_types: list[int] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)
    coref_pairs: list[tuple[int, int]] = field(default_factory=list)
    coref_features: list[list[float]] = field(default_factory=list)
    word_labels: list[int] | None = None
    pair_labels: list[list[int]] | None = None  # relation ids per pair (0-based)
    coref_labels: list[int] | None = None
    word_allowed: list[list[int]] | None = None  # per word, the tags it may have (partial annotation); see training_inputs


def coref_candidates(texts: Sequence[str], types: Sequence[int]) -> tuple[list[tuple[int, int]], list[list[float]]]:
    """Mention pairs of one type, with their string features (both orders are the same pair: i < j)."""
    pairs, features = [], []
    for j in range(len(texts)):
        for i in range(j):
            if types[i] == types[j]:
                pairs.append((i, j))
                features.append(string_features(texts[i], texts[j]))
    return pairs, features


def training_inputs(
    enc: EncodedDoc,
    text: str,
    mentions: Sequence[tuple[int, int, str]],
    clusters: Sequence[Sequence[int]],
    relations: Sequence[tuple[int, int, str]],
    entity_index: dict[str, int],
    relation_index: dict[str, int],
    label_index: dict[str, int],
    relations_annotated: bool = True,
    unannotated_types: Sequence[str] = (),
    open_types: Sequence[str] = (),
    open_words: Mapping[str, str] | None = None,
    left_out_pairs: Collection[tuple[int, int]] = (),
) -> DocInputs:
    """Gold head inputs for one annotated document (mentions without subwords and their entities are dropped).

    For extra data annotated for entities only (CoNLL-2003 beside CoNLL04), ``relations_annotated=False`` scores
    no entity pair (its relation loss is masked, not "no relation"), and a word that is O or of one of
    ``unannotated_types`` may take O or those types' tags (the dataset's tag for that type means something else,
    and what the model calls that type is not marked there). ``open_types`` are tagged in part: the dataset's
    spans of such a type keep their tags, and its O words may also take that type's tags (CoNLL-2003 tags
    nationalities and events as MISC, CoNLL04's Other, but leaves the dates and amounts CoNLL04 calls Other as O).
    ``open_words`` (word -> type) opens single words instead: an O word of that text may also begin a mention of that
    type (CoNLL04 leaves "American" untagged where CoNLL-2003, trained beside it, calls it MISC).
    ``left_out_pairs`` (head, tail cluster indices) are no relation example at all: a teacher's doubtful facts on
    self-labelled data (:mod:`kgbuild.training.silver`)."""
    located = [enc.mention_tokens(start, end) for start, end, _ in mentions]
    keep = [i for i, (_, positions) in enumerate(located) if positions]
    new_index = {old: new for new, old in enumerate(keep)}
    kept_clusters: list[list[int]] = []
    cluster_map: dict[int, int] = {}
    entity_types = []
    for c, members in enumerate(clusters):
        members = [new_index[m] for m in members if m in new_index]
        if members:
            cluster_map[c] = len(kept_clusters)
            kept_clusters.append(members)
            types = [mentions[keep[m]][2] for m in members]
            entity_types.append(entity_index[max(dict.fromkeys(types), key=types.count)])
    n = len(kept_clusters) if relations_annotated else 0
    skipped = {(cluster_map[h], cluster_map[t]) for h, t in left_out_pairs if h in cluster_map and t in cluster_map}
    pairs = [(h, t) for h in range(n) for t in range(n) if h != t and (h, t) not in skipped]
    gold: dict[tuple[int, int], list[int]] = {}
    for h, t, type_ in relations:
        if h in cluster_map and t in cluster_map and cluster_map[h] != cluster_map[t]:
            gold.setdefault((cluster_map[h], cluster_map[t]), []).append(relation_index[type_])
    texts = [text[mentions[i][0] : mentions[i][1]] for i in keep]
    mention_types = [entity_index[mentions[i][2]] for i in keep]
    coref_pairs, coref_features = coref_candidates(texts, mention_types)
    owner = {m: c for c, members in enumerate(kept_clusters) for m in members}
    word_labels = bio_labels(enc, mentions, label_index)
    word_allowed = None
    if unannotated_types or open_types:
        loose = {label_index["O"]} | {label_index[f"{p}-{t}"] for t in unannotated_types for p in "BI"}
        open_tags = {label_index[f"{p}-{t}"] for t in open_types for p in "BI"}
        word_allowed = [sorted(loose | open_tags) if w in loose else [w] for w in word_labels]
    if open_words:
        outside = label_index["O"]
        word_allowed = word_allowed or [[w] for w in word_labels]
        for w, (start, end) in enumerate(enc.words):
            type_ = open_words.get(text[start:end])
            if type_ is not None and word_labels[w] == outside:
                word_allowed[w] = sorted(set(word_allowed[w]) | {outside, label_index[f"B-{type_}"]})
    return DocInputs(
        enc=enc,
        mention_tokens=[located[i] for i in keep],
        clusters=kept_clusters,
        entity_types=entity_types,
        pairs=pairs,
        coref_pairs=coref_pairs,
        coref_features=coref_features,
        word_labels=word_labels,
        pair_labels=[sorted(set(gold.get(p, []))) for p in pairs],
        coref_labels=[int(owner[i] == owner[j]) for i, j in coref_pairs],
        word_allowed=word_allowed,
    )


def shape_tensor(chunks: Sequence[Chunk], length: int) -> torch.Tensor:
    """``[chunks, length]`` word-shape ids (0 for specials and padding) for the model's shape embedding."""
    shapes = torch.zeros((max(len(chunks), 1), length), dtype=torch.long)
    for row, chunk in enumerate(chunks):
        if chunk.shapes:
            shapes[row, : len(chunk.shapes)] = torch.tensor(chunk.shapes)
    return shapes


def layout(docs: Sequence[DocInputs]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """``input_ids``, ``attention_mask`` (``[chunks, length]``, padded with 0) and where each chunk starts in the
    flattened encoder output (``chunk * length``)."""
    chunks = [c for d in docs for c in d.enc.chunks]
    length = max((len(c.ids) for c in chunks), default=2)
    ids = torch.zeros((max(len(chunks), 1), length), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, chunk in enumerate(chunks):
        ids[row, : len(chunk.ids)] = torch.tensor(chunk.ids)
        mask[row, : len(chunk.ids)] = 1
    return ids, mask, [row * length for row in range(len(chunks))]


def chunk_starts(docs: Sequence[DocInputs], starts: Sequence[int]) -> list[list[int]]:
    """Per document, the flat start of each of its chunks (``starts`` lists all chunks, documents in order)."""
    out, row = [], 0
    for d in docs:
        out.append(list(starts[row : row + len(d.enc.chunks)]))
        row += len(d.enc.chunks)
    return out


def word_index(docs: Sequence[DocInputs], starts: Sequence[int]) -> torch.Tensor:
    """Flat positions of every document word's first subword, documents in order."""
    per_doc = chunk_starts(docs, starts)
    flat = [per_doc[i][c] + p for i, d in enumerate(docs) for c, p in d.enc.word_loc]
    return torch.tensor(flat, dtype=torch.long)


def head_inputs(docs: Sequence[DocInputs], starts: Sequence[int], n_relations: int,
                with_labels: bool) -> dict[str, torch.Tensor]:
    """Mention, entity, pair and coreference index tensors (and labels) for a batch; see the module docstring.

    ``starts[k]`` is where chunk k (all documents' chunks in order) begins in the flattened encoder output."""
    per_doc = chunk_starts(docs, starts)
    mention_rows: list[list[int]] = []
    cluster_rows: list[list[int]] = []
    types: list[int] = []
    context_rows: list[list[int]] = []
    pair_rows: list[list[tuple[int, int]]] = []
    label_rows: list[list[list[int]]] = []
    coref_pairs: list[tuple[int, int]] = []
    coref_features: list[list[float]] = []
    coref_labels: list[int] = []
    mention_base = entity_base = 0
    for i, d in enumerate(docs):
        for chunk, positions in d.mention_tokens:
            mention_rows.append([per_doc[i][chunk] + p for p in positions])
        cluster_rows.extend([[mention_base + m for m in members] for members in d.clusters])
        types.extend(d.entity_types)
        context_rows.append([
            per_doc[i][c] + p for c, chunk in enumerate(d.enc.chunks) for p in range(1, len(chunk.ids) - 1)
        ])
        pair_rows.append([(entity_base + h, entity_base + t) for h, t in d.pairs])
        if with_labels:
            label_rows.append(d.pair_labels or [])
            coref_labels.extend(d.coref_labels or [])
        coref_pairs.extend((mention_base + a, mention_base + b) for a, b in d.coref_pairs)
        coref_features.extend(d.coref_features)
        mention_base += len(d.mention_tokens)
        entity_base += len(d.clusters)
    out = {}
    out["mention_index"], out["mention_mask"] = _pad(mention_rows)
    out["cluster_index"], out["cluster_mask"] = _pad(cluster_rows)
    out["entity_types"] = torch.tensor(types, dtype=torch.long)
    out["context_index"], out["context_mask"] = _pad(context_rows)
    width = max((len(r) for r in pair_rows), default=0)
    pair_index = torch.zeros((len(docs), width, 2), dtype=torch.long)
    pair_mask = torch.zeros((len(docs), width), dtype=torch.bool)
    for i, row in enumerate(pair_rows):
        if row:
            pair_index[i, : len(row)] = torch.tensor(row)
            pair_mask[i, : len(row)] = True
    out["pair_index"], out["pair_mask"] = pair_index, pair_mask
    out["coref_index"] = torch.tensor(coref_pairs, dtype=torch.long).reshape(-1, 2)
    out["coref_features"] = torch.tensor(coref_features, dtype=torch.float32).reshape(
        len(coref_pairs), N_STRING_FEATURES)
    if with_labels:
        labels = torch.zeros((len(docs), width, n_relations + 1), dtype=torch.float32)
        for i, rows in enumerate(label_rows):
            for p, relations in enumerate(rows):
                if relations:
                    labels[i, p, [r + 1 for r in relations]] = 1.0
                else:
                    labels[i, p, 0] = 1.0
        out["pair_labels"] = labels
        out["coref_labels"] = torch.tensor(coref_labels, dtype=torch.float32)
    return out


def _pad(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max((len(r) for r in rows), default=1) or 1
    index = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        if row:
            index[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = True
    return index, mask


def collate(docs: Sequence[DocInputs], n_relations: int, n_tags: int = 0) -> dict[str, Any]:
    """A training batch: every tensor :meth:`JointExtractor.forward` takes, labels included (``n_tags``, the
    number of BIO tags, is needed only when some document is partially annotated)."""
    ids, mask, starts = layout(docs)
    batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    batch["shape_ids"] = shape_tensor([c for d in docs for c in d.enc.chunks], ids.shape[1])
    batch["word_index"] = word_index(docs, starts)
    batch["word_labels"] = torch.tensor([w for d in docs for w in (d.word_labels or [])], dtype=torch.long)
    if any(d.word_allowed is not None for d in docs):
        allowed = [a for d in docs for a in (d.word_allowed or [[w] for w in (d.word_labels or [])])]
        batch["word_allowed"] = torch.zeros((len(allowed), n_tags), dtype=torch.bool)
        for row, tags in enumerate(allowed):
            batch["word_allowed"][row, tags] = True
    batch.update(head_inputs(docs, starts, n_relations, with_labels=True))
    return batch
