"""``kgbuild eval fusion``: kgbuild's resolver against gold and against the anchors' resolvers, in one run.

Sets (see :mod:`kgbuild.datasets.fusion_gold`):
- ``in-document``: each document alone, its gold mentions clustered into entities (coreference on gold
  mentions); the Fuser runs with ``must_not_link=False`` so that it may merge inside the document.
- ``cross-document``: all documents in one batch, gold in-document entities as units, clustered across
  documents (the Fuser as the build runs it, must-not-link on); baselines see each unit's canonical name.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kgbuild.fusion.baselines import cosine_match, exact_match, fuzzy_match
from kgbuild.fusion.canonical import canonical_name
from kgbuild.fusion.config import FusionConfig
from kgbuild.datasets.fusion_gold import GoldDocument, cross_document_gold, in_document_gold, load_gold
from kgbuild.fusion.embed import MentionEmbedder
from kgbuild.fusion.fuser import Fuser
from kgbuild.evaluation.clustering import cluster_scores
from kgbuild.fusion.units import collect_units
from kgbuild.schema.models import Schema

SETS = ("in-document", "cross-document")
RESOLVERS = ("kgbuild", "exact", "fuzzy_wratio_0.8", "cosine_0.97")
JEREX_COREF_F1 = 82.79  # JEREX (BERT-base), coreference F1 on DocRED, end to end (predicted mentions)
Progress = Callable[[Sequence[Any], str], Any]


def _plain(items: Sequence[Any], _: str) -> Sequence[Any]:
    return items


def _entity_of_mentions(fused: Any) -> dict[tuple[str, int, int], str]:
    return {(link.doc_id, link.start, link.end): link.entity_id for link in fused.mentions}


def evaluate_in_document(
    docs: Sequence[GoldDocument], schema: Schema, embedder: MentionEmbedder, config: FusionConfig, progress: Progress = _plain
) -> dict[str, Any]:
    """Coreference of gold mentions inside each document: kgbuild and the baselines, labels per mention."""
    fuser = Fuser(schema, model=embedder, thresholds=config, must_not_link=False)
    gold_per_doc = in_document_gold(docs)
    predicted: dict[str, list[tuple[int, Any]]] = {name: [] for name in RESOLVERS}
    gold: list[tuple[int, int]] = []
    all_names = [m.text for d in docs for m in d.extraction.mentions]
    name_vectors = embedder.encode(all_names)
    # warm the embedder's cache in one batched pass; the per-document fuser calls then only look up
    embedder.encode([s.text for d in docs for s in d.doc.sentences])
    offset = 0
    for d, document in enumerate(progress(docs, "in-document")):
        mentions = document.extraction.mentions
        fused = fuser([(document.doc, document.singletons())])
        entity = _entity_of_mentions(fused)
        names = [m.text for m in mentions]
        types = [m.type for m in mentions]
        predicted["kgbuild"] += [(d, entity.get((m.doc_id, m.start, m.end), f"dropped{i}")) for i, m in enumerate(mentions)]
        predicted["exact"] += [(d, int(x)) for x in exact_match(names, types)]
        predicted["fuzzy_wratio_0.8"] += [(d, int(x)) for x in fuzzy_match(names, types)]
        vectors = name_vectors[offset : offset + len(mentions)]
        predicted["cosine_0.97"] += [(d, int(x)) for x in cosine_match(vectors, types)]
        gold += [(d, g) for g in gold_per_doc[d]]
        offset += len(mentions)
    return {"mentions": len(gold), **{name: cluster_scores(predicted[name], gold) for name in RESOLVERS}}


def evaluate_cross_document(
    docs: Sequence[GoldDocument], schema: Schema, embedder: MentionEmbedder, config: FusionConfig, progress: Progress = _plain
) -> dict[str, Any]:
    """Fusion of gold in-document entities across documents: kgbuild and the baselines, labels per unit."""
    batch = [(d.doc, d.extraction) for d in docs]
    fuser = Fuser(schema, model=embedder, thresholds=config)
    progress([None], "cross-document")
    entity = _entity_of_mentions(fuser(batch))
    units = collect_units(batch, schema, Counter())
    order, labels, _ = cross_document_gold(docs)
    gold_of = dict(zip(order, labels))
    gold = [gold_of[(u.doc, u.cluster)] for u in units]
    first = [batch[u.doc][1].mentions[u.mentions[0]] for u in units]
    names = [canonical_name(batch[u.doc][1].mentions[m].text for m in u.mentions) for u in units]
    types = [u.type for u in units]
    predicted = {
        "kgbuild": [entity[(m.doc_id, m.start, m.end)] for m in first],
        "exact": exact_match(names, types),
        "fuzzy_wratio_0.8": fuzzy_match(names, types),
        "cosine_0.97": cosine_match(embedder.encode(names), types),
    }
    return {"mentions": len(units), **{name: cluster_scores(predicted[name], gold) for name in RESOLVERS}}


def evaluate_fusion(
    data: str | Path,
    schema: Schema,
    embedder: MentionEmbedder,
    config: FusionConfig,
    sets: Sequence[str] = SETS,
    limit: int | None = None,
    progress: Progress = _plain,
) -> dict[str, dict[str, Any]]:
    """Scores per evaluation set; each set maps resolver -> {pairwise, b_cubed, exact_clusters, clusters}."""
    docs = load_gold(data, schema, limit)
    results: dict[str, dict[str, Any]] = {}
    for name in sets:
        started = time.perf_counter()
        runner = evaluate_in_document if name == "in-document" else evaluate_cross_document
        results[name] = runner(docs, schema, embedder, config, progress)
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
        results[name]["documents"] = len(docs)
    return results


def issue_shape(result: dict[str, Any]) -> dict[str, Any]:
    """The stable JSON shape: mentions, then per resolver {pairwise, b_cubed, clusters}."""
    keep = ("pairwise", "b_cubed", "clusters")
    return {"mentions": int(result["mentions"]), **{r: {k: result[r][k] for k in keep} for r in RESOLVERS}}


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
