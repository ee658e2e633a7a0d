"""Graph records made from Re-DocRED's gold annotations: a real, model-free graph for the report tests."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from kgbuild.records import Document, Entity, Fact, MentionLink, SegmentedDocument, Sentence, content_id
from kgbuild.report.collect import Edge, Evidence, FactView, ReportData, TopEntity
from kgbuild.report.highlight import highlight
from kgbuild.schema import Schema

NO_SPACE_BEFORE = re.compile(r"^([.,;:!?%)\]}]|'s|n't|'re|'ve|'ll|'d|'m)$")
NO_SPACE_AFTER = {"(", "[", "{", "$"}


def join_tokens(tokens: list[str], start: int) -> tuple[str, list[tuple[int, int]]]:
    """Tokens -> text with ordinary spacing, and each token's (start, end) offset (from ``start``)."""
    text, spans = "", []
    for i, token in enumerate(tokens):
        if i and not NO_SPACE_BEFORE.match(token) and tokens[i - 1] not in NO_SPACE_AFTER:
            text += " "
        spans.append((start + len(text), start + len(text) + len(token)))
        text += token
    return text, spans


def fill(uri: str, records: tuple[list[SegmentedDocument], list[Entity], list[MentionLink], list[Fact]],
         schema_path: Path | None = None) -> None:
    """Write ``records`` into the graph at ``uri``, emptied first, with the store's own methods."""
    from kgbuild.graph import open_graph
    from kgbuild.resources import REPO_ROOT
    from kgbuild.schema import load_schema

    store = open_graph(uri)
    store.open()
    try:
        store.query("MATCH (n) DETACH DELETE n", {}, read_only=False)
        documents, entities, mentions, facts = records
        store.ensure_schema(load_schema(schema_path or REPO_ROOT / "schemas" / "default.yaml"))
        store.upsert_documents(documents)
        store.upsert_entities(entities)
        store.upsert_mentions(mentions)
        store.upsert_facts(facts)
    finally:
        store.close()


def gold_records(
    path: Path, schema: Schema, first: int = 0, count: int = 3
) -> tuple[list[SegmentedDocument], list[Entity], list[MentionLink], list[Fact]]:
    """Documents, entities, mentions and facts of ``count`` Re-DocRED documents, as a build would write them."""
    docs = json.loads(path.read_text(encoding="utf-8"))[first : first + count]
    segmented, entities, mentions, facts = [], [], [], []
    for raw in docs:
        parts, spans, offset = [], [], 0
        for tokens in raw["sents"]:
            text, token_spans = join_tokens(tokens, offset)
            parts.append(text)
            spans.append(token_spans)
            offset += len(text) + 1
        full = " ".join(parts)
        doc = Document.from_text(full, source=f"re-docred/dev_100.json#{raw['title']}", title=raw["title"])
        sentences = tuple(
            Sentence(doc.id, i, spans[i][0][0], spans[i][-1][1], full[spans[i][0][0] : spans[i][-1][1]])
            for i in range(len(parts))
        )
        segmented.append(SegmentedDocument(doc, sentences, (), ()))
        ids = []
        for index, vertex in enumerate(raw["vertexSet"]):
            type_name = schema.entity_for_label(Counter(m["type"] for m in vertex).most_common(1)[0][0])
            entity_id = content_id(doc.id, str(index), prefix="ent_")
            names = []
            for m in vertex:
                start, end = spans[m["sent_id"]][m["pos"][0]][0], spans[m["sent_id"]][m["pos"][1] - 1][1]
                names.append(full[start:end])
                mentions.append(
                    MentionLink(entity_id, sentences[m["sent_id"]].chunk_id, doc.id, start, end, full[start:end], 1.0)
                )
            name = max(names, key=len)
            entities.append(Entity(entity_id, type_name, name, tuple(sorted(set(names) - {name})), None, len(vertex)))
            ids.append(entity_id)
        for label in raw["labels"]:
            facts.append(
                Fact(
                    ids[label["h"]], schema.relation_for_label(label["r"]), ids[label["t"]], 1.0, (doc.id,),
                    tuple(sentences[i].chunk_id for i in label["evidence"]),
                )
            )
    return segmented, entities, mentions, facts


def gold_report_data(path: Path, schema: Schema, count: int = 10, view_nodes: int = 60, max_facts: int = 300) -> ReportData:
    """What ``collect`` would read from a graph holding these gold records, computed directly in Python:
    lets the page be rendered and screenshotted without any store."""
    documents, entities, mentions, facts = gold_records(path, schema, 0, count)
    unique = list({(f.head_id, f.type, f.tail_id): f for f in facts}.values())
    degree: Counter[str] = Counter()
    for fact in unique:
        degree[fact.head_id] += 1
        degree[fact.tail_id] += 1
    ranked = [
        TopEntity(e.id, e.name, e.type, degree[e.id], e.mention_count, e.aliases)
        for e in sorted(entities, key=lambda e: (-degree[e.id], -e.mention_count, e.name))
    ]
    shown = {t.id for t in ranked[:view_nodes]}
    by_id = {e.id: e for e in entities}
    chunks = {s.chunk_id: (s, d.document) for d in documents for s in d.sentences}
    views = []
    for fact in unique[:max_facts]:
        evidence = []
        for chunk_id in fact.evidence_chunk_ids[:2]:
            sentence, doc = chunks[chunk_id]
            marks = [
                (m.start - sentence.start, m.end - sentence.start, role)
                for role, entity_id in (("head", fact.head_id), ("tail", fact.tail_id))
                for m in mentions
                if m.entity_id == entity_id and m.chunk_id == chunk_id
            ]
            evidence.append(Evidence(doc.title, doc.source, tuple(highlight(sentence.text, marks))))
        head, tail = by_id[fact.head_id], by_id[fact.tail_id]
        views.append(FactView(head.name, head.type, fact.type, tail.name, tail.type, fact.score, tuple(evidence)))
    totals = {
        "documents": len(documents),
        "sentences": sum(len(d.sentences) for d in documents),
        "entities": len(entities),
        "mentions": len(mentions),
        "facts": len(unique),
    }
    return ReportData(
        graph=f"{path.name} (gold)", totals=totals,
        entity_types=Counter(e.type for e in entities).most_common(),
        relation_types=Counter(f.type for f in unique).most_common(),
        top_entities=ranked[:20], view_nodes=ranked[:view_nodes],
        view_edges=[Edge(f.head_id, f.tail_id, f.type, f.score) for f in unique if f.head_id in shown and f.tail_id in shown],
        facts=views, facts_total=len(unique),
    )
