"""The build path is the evaluated path: ``kgbuild build`` on annotated documents (as text files) writes exactly the
mentions, entities and facts that ``kgbuild eval``'s predictions give for the same documents.

So a regression in segmentation, windowing, fusion within a document or writing cannot hide behind a good eval
score. CoNLL04 sentences with the bundled ``conll04`` model (sentence level) and Re-DocRED documents with the bundled
``default`` model (document level: coreference clusters, relations between entities). Every document fits in one
encoder window, where eval's windows (gold sentences) and the build's (spaCy sentences) are the same text.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from kgbuild.api import build, open_graph
from kgbuild.extract.engine import Extractor
from kgbuild.datasets import AnnotatedDocument, read_annotations
from kgbuild.evaluation.extraction import predict_documents
from tests.datafiles import dataset

Span = tuple[int, int]

MENTIONS = "MATCH (e:Entity)-[m:MENTIONED_IN]->(c:Chunk) RETURN e.id AS entity, e.type AS type, c.doc_id AS doc, m.start AS start, m.end AS end"
FACTS = "MATCH (h:Entity)-[r]->(t:Entity) RETURN h.id AS head, type(r) AS relation, t.id AS tail, r.doc_ids AS docs"
DOCUMENTS = "MATCH (d:Document) RETURN d.id AS id, d.source AS source"


def expected(predictions: list[Any]) -> tuple[set, set, set]:
    """Mentions ``(doc, start, end, type)``, per-document entities (frozensets of spans) and facts
    ``(doc, head spans, relation, tail spans)`` of eval's predictions."""
    mentions, entities, facts = set(), set(), set()
    for i, p in enumerate(predictions):
        mentions |= {(i, m.start, m.end, m.type) for m in p.mentions}
        spans = [frozenset((p.mentions[m].start, p.mentions[m].end) for m in cluster) for cluster in p.clusters]
        entities |= {(i, cluster) for cluster in spans}
        facts |= {(i, spans[r.head], r.type, spans[r.tail]) for r in p.relations}
    return mentions, entities, facts


def in_graph(graph: str, index: dict[str, int]) -> tuple[set, set, set]:
    """The same three sets read back from the graph with Cypher (``index``: document id -> position)."""
    store = open_graph(graph)
    try:
        docs = {row["id"]: index[Path(row["source"]).name] for row in store.query(DOCUMENTS, {})}
        rows = store.query(MENTIONS, {})
        facts_rows = store.query(FACTS, {})
    finally:
        store.close()
    mentions = {(docs[r["doc"]], r["start"], r["end"], r["type"]) for r in rows}
    members: dict[tuple[str, int], set[Span]] = defaultdict(set)  # (entity, doc) -> its mention spans there
    for r in rows:
        members[(r["entity"], docs[r["doc"]])].add((r["start"], r["end"]))
    entities = {(doc, frozenset(spans)) for (_, doc), spans in members.items()}
    facts = set()
    for r in facts_rows:
        for doc_id in r["docs"]:
            i = docs[doc_id]
            facts.add((i, frozenset(members[(r["head"], i)]), r["relation"], frozenset(members[(r["tail"], i)])))
    return mentions, entities, facts


def build_and_compare(docs: list[AnnotatedDocument], extractor: Extractor, model: str, tmp_path: Path) -> tuple[set, set, set]:
    folder = tmp_path / "docs"
    folder.mkdir()
    index = {}
    for i, doc in enumerate(docs):
        (folder / f"{i:02d}.txt").write_text(doc.text, encoding="utf-8")
        index[f"{i:02d}.txt"] = i
        assert extractor.count_tokens(doc.text) <= extractor.max_tokens, "each document must fit one window"
    # everything the model predicts (min_confidence=0): eval scores every prediction, at every threshold
    summary = build([folder], model=model, graph=tmp_path / "kg", device="cpu", show_progress=False, min_confidence=0.0)
    assert summary.processed == len(docs) and not summary.failed and not summary.dropped
    want = expected(predict_documents(extractor, docs))
    got = in_graph(str(tmp_path / "kg"), index)
    for name, g, w in zip(("mentions", "entities", "facts"), got, want):
        assert g == w, f"{name}: only in the graph {sorted(g - w, key=str)[:5]}; only in eval {sorted(w - g, key=str)[:5]}"
    return want


@pytest.mark.slow
def test_conll04_build_writes_the_facts_eval_predicts(tmp_path: Path, conll04_extractor: Extractor) -> None:
    docs = read_annotations(dataset("conll04/conll04_dev.json"), conll04_extractor.schema)[:12]
    mentions, _, facts = build_and_compare(docs, conll04_extractor, "conll04", tmp_path)
    assert len(mentions) > 20 and len(facts) >= 5  # a real comparison, not two empty sets


@pytest.mark.slow
def test_redocred_build_writes_the_entities_and_facts_eval_predicts(tmp_path: Path) -> None:
    extractor = Extractor.load("default", device="cpu")
    docs = read_annotations(dataset("re-docred/dev_100.json"), extractor.schema)[:3]
    mentions, entities, facts = build_and_compare(docs, extractor, "default", tmp_path)
    assert len(mentions) > len(entities) and len(facts) >= 5  # coreference clusters and relations between them
