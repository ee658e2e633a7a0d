"""SpERT JSON (CoNLL04, SciERC, ADE): one sentence per record, token-offset entities, relations between entities."""

from __future__ import annotations

from pathlib import Path

from kgbuild.datasets.common import dedupe_relations, detokenize, entity_type, load_json, relation_type
from kgbuild.datasets.records import AnnotatedDocument, GoldMention, GoldRelation
from kgbuild.errors import InputError
from kgbuild.schema import Schema


def read_spert(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """SpERT JSON (CoNLL04, SciERC, ADE): ``tokens``, ``entities`` (token offsets, end exclusive), ``relations``.

    Each entity is its own cluster (these datasets annotate no coreference), so relations are between mentions.
    """
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: SpERT data must be a JSON list of sentences")
    documents = []
    for number, raw in enumerate(data):
        where = f"{path}: record {number}"
        try:
            text, spans = detokenize(list(raw["tokens"]))
            mentions = tuple(
                GoldMention(spans[e["start"]][0], spans[e["end"] - 1][1], entity_type(e["type"], schema, where), e["type"])
                for e in raw["entities"]
            )
            relations = dedupe_relations(
                GoldRelation(int(r["head"]), int(r["tail"]), relation_type(r["type"], schema, where))
                for r in raw.get("relations", ())
            )
            for relation in relations:
                if not (0 <= relation.head < len(mentions) and 0 <= relation.tail < len(mentions)):
                    raise IndexError(f"relation names entity {max(relation.head, relation.tail)} of {len(mentions)}")
        except InputError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed SpERT record ({type(exc).__name__}: {exc})") from None
        identifier = str(raw.get("orig_id", number))
        documents.append(
            AnnotatedDocument(identifier, text, mentions, tuple((i,) for i in range(len(mentions))), relations,
                              ((0, len(text)),) if text else (), str(path))
        )
    return documents
