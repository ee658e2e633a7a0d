"""``kgbuild eval fusion``: kgbuild's resolver against gold and against the anchors' resolvers, in one run.

Sets (see :mod:`kgbuild.datasets.fusion_gold`); every score on the percentage scale (0-100):
- ``in-document``: each document alone, its gold mentions clustered into entities (coreference on gold
  mentions); the Fuser runs with ``must_not_link=False`` so that it may merge inside the document.
- ``predicted``: each document as a build sees it: the extractor's own mentions and clusters, then fusion.
  Scored over the union of gold and predicted mentions (same span = same item): a predicted mention that
  matches no gold mention is a gold singleton, so merging it with anything costs precision; a gold mention
  the extractor missed is a predicted singleton, so it costs recall.
- ``cross-document``: all documents in one batch, gold in-document entities as units, clustered across
  documents (the Fuser as the build runs it, must-not-link on). Every resolver sees every name of a unit
  (the baselines link two units when any name of one matches any name of the other), so the comparison is
  about matching, not about who sees more aliases.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kgbuild.datasets import to_segmented
from kgbuild.datasets.fusion_gold import (
    GoldDocument, annotated_documents, cross_document_gold, in_document_gold, load_gold,
)
from kgbuild.evaluation.clustering import cluster_scores
from kgbuild.fusion.baselines import cosine_match, exact_match, fuzzy_match, per_unit
from kgbuild.fusion.config import FusionConfig
from kgbuild.fusion.embed import ExtractorStates, MentionEmbedder
from kgbuild.fusion.fuser import Fuser
from kgbuild.schema.models import Schema

SETS = ("in-document", "predicted", "cross-document")
RESOLVERS = ("kgbuild", "exact", "fuzzy_wratio_0.8", "cosine_0.97")
JEREX_COREF_F1 = 82.79  # JEREX (BERT-base), coreference F1 on DocRED, end to end (predicted mentions)
Progress = Callable[[Sequence[Any], str], Any]


def _plain(items: Sequence[Any], _: str) -> Sequence[Any]:
    return items


def _entity_of_mentions(fused: Any) -> dict[tuple[str, int, int], str]:
    return {(link.doc_id, link.start, link.end): link.entity_id for link in fused.mentions}


def _baselines(names: Sequence[str], types: Sequence[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "exact": exact_match(names, types),
        "fuzzy_wratio_0.8": fuzzy_match(names, types),
        "cosine_0.97": cosine_match(vectors, types),
    }


_ANCHOR: list[MentionEmbedder] = []


def anchor_embedder(embedder: MentionEmbedder | ExtractorStates) -> MentionEmbedder:
    """The sentence encoder of the ``cosine_0.97`` anchor row: the fuser's own, or the bundled one when kgbuild
    fuses from the extractor's states (the anchor rows stay the same whatever kgbuild's source)."""
    if isinstance(embedder, MentionEmbedder):
        return embedder
    if not _ANCHOR:
        _ANCHOR.append(MentionEmbedder())
    return _ANCHOR[0]


def evaluate_in_document(
    docs: Sequence[GoldDocument], schema: Schema, embedder: MentionEmbedder | ExtractorStates, config: FusionConfig, progress: Progress = _plain
) -> dict[str, Any]:
    """Coreference of gold mentions inside each document: kgbuild and the baselines, labels per mention."""
    fuser = Fuser(schema, model=embedder, thresholds=config, must_not_link=False)
    gold_per_doc = in_document_gold(docs)
    predicted: dict[str, list[tuple[int, Any]]] = {name: [] for name in RESOLVERS}
    gold: list[tuple[int, int]] = []
    name_vectors = anchor_embedder(embedder).encode([m.text for d in docs for m in d.extraction.mentions])
    if isinstance(embedder, MentionEmbedder):
        # warm the embedder's cache in one batched pass; the per-document fuser calls then only look up
        embedder.encode([s.text for d in docs for s in d.doc.sentences])
    offset = 0
    for d, document in enumerate(progress(docs, "in-document")):
        mentions = document.extraction.mentions
        entity = _entity_of_mentions(fuser([(document.doc, document.singletons())]))
        predicted["kgbuild"] += [(d, entity.get((m.doc_id, m.start, m.end), f"dropped{i}")) for i, m in enumerate(mentions)]
        vectors = name_vectors[offset : offset + len(mentions)]
        for name, labels in _baselines([m.text for m in mentions], [m.type for m in mentions], vectors).items():
            predicted[name] += [(d, int(x)) for x in labels]
        gold += [(d, g) for g in gold_per_doc[d]]
        offset += len(mentions)
    return {"mentions": len(gold), **{name: cluster_scores(predicted[name], gold) for name in RESOLVERS}}


def evaluate_predicted(
    path: str | Path,
    docs: Sequence[GoldDocument],
    schema: Schema,
    embedder: MentionEmbedder | ExtractorStates,
    config: FusionConfig,
    extractor: Any,
    limit: int | None = None,
    progress: Progress = _plain,
) -> dict[str, Any]:
    """The extractor's mentions and clusters, then fusion, scored against gold mentions and entities.

    ``extractor``: a loaded :class:`kgbuild.extract.engine.Extractor`. Rows: ``extractor`` (its clusters
    as they come), ``kgbuild`` (after fusion, as a build writes them) and the baselines on its mentions.
    """
    annotated = annotated_documents(path, schema, limit)
    segmented = [to_segmented(a, extractor.count_tokens, extractor.max_tokens) for a in annotated]
    extractions = [extracted.extraction for extracted in extractor(list(progress(segmented, "predicted: extract")))]
    fuser = Fuser(schema, model=embedder, thresholds=config)
    gold_per_doc = in_document_gold(docs)
    rows = ("extractor", *RESOLVERS)
    predicted: dict[str, list[Any]] = {name: [] for name in rows}
    gold: list[Any] = []
    found = total = 0
    for d, (seg, extraction) in enumerate(zip(segmented, extractions)):
        entity = _entity_of_mentions(fuser([(seg, extraction)]))
        gold_of = {(m.start, m.end): gold_per_doc[d][i] for i, m in enumerate(docs[d].extraction.mentions)}
        spans = [(m.start, m.end) for m in extraction.mentions]
        own = {m: c for c, cluster in enumerate(extraction.clusters) for m in cluster}
        names = [m.text for m in extraction.mentions]
        labels = {
            "extractor": [own.get(i, f"stray{i}") for i in range(len(spans))],
            "kgbuild": [entity.get((extraction.doc_id, s, e), f"dropped{i}") for i, (s, e) in enumerate(spans)],
            **(_baselines(names, [m.type for m in extraction.mentions], anchor_embedder(embedder).encode(names)) if names else {}),
        }
        keys = list(dict.fromkeys(spans))
        first = {span: i for i, span in reversed(list(enumerate(spans)))}
        missed = [span for span in gold_of if span not in first]
        for name in rows:
            column = labels.get(name, [])
            predicted[name] += [(d, column[first[span]]) for span in keys]
            predicted[name] += [(d, "missed", span) for span in missed]
        gold += [(d, gold_of[span]) if span in gold_of else (d, "spurious", span) for span in keys]
        gold += [(d, gold_of[span]) for span in missed]
        found += sum(1 for span in keys if span in gold_of)
        total += len(gold_of)
    result = {"mentions": len(gold), **{name: cluster_scores(predicted[name], gold) for name in rows}}
    result["mention_recall"] = round(100 * found / total, 2) if total else 0.0
    result["predicted_mentions"] = len(gold) - (total - found)
    return result


def evaluate_cross_document(
    docs: Sequence[GoldDocument], schema: Schema, embedder: MentionEmbedder | ExtractorStates, config: FusionConfig, progress: Progress = _plain
) -> dict[str, Any]:
    """Fusion of gold in-document entities across documents: kgbuild and the baselines, labels per gold entity.

    Every resolver sees all of a unit's names: the baselines link two units when any name of one matches any
    name of the other under their rule (then take connected components), as kgbuild compares all aliases.
    """
    batch = [(d.doc, d.extraction) for d in docs]
    fuser = Fuser(schema, model=embedder, thresholds=config)
    progress([None], "cross-document")
    entity = _entity_of_mentions(fuser(batch))
    order, labels, _ = cross_document_gold(docs)
    names: list[list[str]] = []
    types: list[str] = []
    kgbuild: list[str] = []
    for d, c in order:
        extraction = docs[d].extraction
        cluster = sorted(extraction.clusters[c], key=lambda m: (extraction.mentions[m].start, extraction.mentions[m].end))
        names.append(list(dict.fromkeys(extraction.mentions[m].text for m in cluster)))
        kinds = [extraction.mentions[m].type for m in cluster]
        types.append(max(dict.fromkeys(kinds), key=kinds.count))
        first = extraction.mentions[cluster[0]]
        kgbuild.append(entity.get((first.doc_id, first.start, first.end), f"dropped{d}:{c}"))
    flat = [n for unit in names for n in unit]
    vectors = anchor_embedder(embedder).encode(flat)
    predicted = {
        "kgbuild": kgbuild,
        "exact": per_unit(names, types, exact_match),
        "fuzzy_wratio_0.8": per_unit(names, types, fuzzy_match),
        "cosine_0.97": per_unit(names, types, lambda _, t: cosine_match(vectors, t)),
    }
    return {"mentions": len(order), **{name: cluster_scores(predicted[name], labels) for name in RESOLVERS}}


def evaluate_fusion(
    data: str | Path,
    schema: Schema,
    embedder: MentionEmbedder | ExtractorStates,
    config: FusionConfig,
    sets: Sequence[str] = SETS,
    limit: int | None = None,
    progress: Progress = _plain,
    extractor: Any = None,
) -> dict[str, dict[str, Any]]:
    """Scores per evaluation set; each set maps resolver -> {pairwise, b_cubed, exact_clusters, clusters}.

    ``extractor`` (a loaded Extractor) is needed only for the ``predicted`` set.
    """
    docs = load_gold(data, schema, limit)
    if isinstance(embedder, ExtractorStates) and {"in-document", "cross-document"} & set(sets):
        docs = embedder.attach(docs)  # gold mentions get the extractor's pooled states (one encoder pass)
    results: dict[str, dict[str, Any]] = {}
    for name in sets:
        started = time.perf_counter()
        if name == "in-document":
            results[name] = evaluate_in_document(docs, schema, embedder, config, progress)
        elif name == "predicted":
            if extractor is None:
                raise ValueError("the predicted set needs an extractor")
            results[name] = evaluate_predicted(data, docs, schema, embedder, config, extractor, limit, progress)
        else:
            results[name] = evaluate_cross_document(docs, schema, embedder, config, progress)
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
        results[name]["documents"] = len(docs)
    return results


def issue_shape(result: dict[str, Any]) -> dict[str, Any]:
    """The stable JSON shape: mentions, then per resolver {pairwise, b_cubed, clusters} (percentages)."""
    keep = ("pairwise", "b_cubed", "clusters")
    rows = [r for r in ("extractor", *RESOLVERS) if r in result]
    shaped: dict[str, Any] = {"mentions": int(result["mentions"])}
    for extra in ("mention_recall", "predicted_mentions"):
        if extra in result:
            shaped[extra] = result[extra]
    shaped.update({r: {k: result[r][k] for k in keep} for r in rows})
    return shaped


def gold_statistics(docs: Sequence[GoldDocument]) -> dict[str, int]:
    """Sizes of the cross-document set (for docs/fusion.md)."""
    _, labels, conflicts = cross_document_gold(docs)
    sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
    return {
        "units": len(labels),
        "gold_entities": int(len(sizes)),
        "entities_in_several_documents": int((sizes > 1).sum()),
        "gold_pairs": int((sizes * (sizes - 1) // 2).sum()),
        "in_document_conflicts": conflicts,
    }
