"""DocRED / Re-DocRED JSON: token lists per sentence, mention clusters (``vertexSet``), relations between clusters."""

from __future__ import annotations

from pathlib import Path

from kgbuild.datasets.common import dedupe_relations, detokenize, entity_type, load_json, relation_type
from kgbuild.datasets.records import AnnotatedDocument, GoldMention, GoldRelation
from kgbuild.errors import InputError
from kgbuild.schema import Schema


def read_docred(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """DocRED / Re-DocRED JSON: ``sents`` token lists, ``vertexSet`` mention clusters, ``labels`` relations."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: DocRED data must be a JSON list of documents")
    documents = []
    for number, raw in enumerate(data):
        where = f"{path}: document {number}"
        try:
            tokens = [token for sentence in raw["sents"] for token in sentence]
            text, spans = detokenize(tokens)
            sentence_starts = []
            offset = 0
            sentences = []
            for sentence in raw["sents"]:
                sentence_starts.append(offset)
                if sentence:
                    sentences.append((spans[offset][0], spans[offset + len(sentence) - 1][1]))
                offset += len(sentence)
            mentions: list[GoldMention] = []
            clusters: list[tuple[int, ...]] = []
            for vertex in raw["vertexSet"]:
                cluster = []
                spans_here: set[tuple[int, int]] = set()
                for mention in vertex:
                    first = sentence_starts[mention["sent_id"]] + mention["pos"][0]
                    last = sentence_starts[mention["sent_id"]] + mention["pos"][1] - 1
                    span = (spans[first][0], spans[last][1])
                    if span in spans_here:  # a span annotated twice in one entity: keep one mention
                        continue
                    spans_here.add(span)
                    cluster.append(len(mentions))
                    mentions.append(GoldMention(span[0], span[1], entity_type(mention["type"], schema, where),
                                                mention["type"]))
                clusters.append(tuple(cluster))
            relations = tuple(
                dict.fromkeys(
                    GoldRelation(int(label["h"]), int(label["t"]), relation_type(label["r"], schema, where),
                                 tuple(label.get("evidence", ())))
                    for label in raw.get("labels", ())
                )
            )
        except InputError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed DocRED record ({type(exc).__name__}: {exc})") from None
        documents.append(
            AnnotatedDocument(str(raw.get("title") or f"doc{number}"), text, tuple(mentions), tuple(clusters),
                              dedupe_relations(relations), tuple(sentences), str(path))
        )
    return documents
