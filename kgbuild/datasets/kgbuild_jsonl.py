"""kgbuild's own annotation format: one JSON document per line with character offsets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kgbuild.datasets.common import dedupe_relations, entity_type, read_text, relation_type, split_sentences
from kgbuild.datasets.records import AnnotatedDocument, GoldMention, GoldRelation
from kgbuild.errors import InputError
from kgbuild.schema import Schema


def read_jsonl(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """kgbuild JSONL: one document per line, character offsets.

    ``{"id", "text", "entities": [{"start", "end", "type", "id"?}], "relations": [{"head", "tail", "type"}],
    "sentences"?: [[start, end], ...]}``. Entities sharing an ``id`` are mentions of one entity (a cluster);
    a relation's ``head``/``tail`` is an entity index in the list or an entity ``id``.
    """
    path = Path(path)
    lines = read_text(path).splitlines()
    documents = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{line_number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON: {exc.msg}") from None
        try:
            documents.append(_jsonl_record(raw, schema, where, str(path)))
        except InputError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed record ({type(exc).__name__}: {exc})") from None
    return documents


def _jsonl_record(raw: dict[str, Any], schema: Schema | None, where: str, source: str) -> AnnotatedDocument:
    text = raw["text"]
    if not isinstance(text, str):
        raise TypeError("'text' must be a string")
    mentions: list[GoldMention] = []
    cluster_of_key: dict[str, int] = {}
    clusters: list[list[int]] = []
    mention_cluster: list[int] = []
    for index, entity in enumerate(raw.get("entities", ())):
        start, end = int(entity["start"]), int(entity["end"])
        if not 0 <= start < end <= len(text):
            raise InputError(f"{where}: entity {index} has offsets [{start}, {end}) outside the text of {len(text)} characters")
        mentions.append(GoldMention(start, end, entity_type(str(entity["type"]), schema, where),
                                    str(entity["type"])))
        key = str(entity["id"]) if entity.get("id") is not None else f"\x00{index}"
        if key not in cluster_of_key:
            cluster_of_key[key] = len(clusters)
            clusters.append([])
        clusters[cluster_of_key[key]].append(index)
        mention_cluster.append(cluster_of_key[key])

    def cluster_index(ref: Any) -> int:
        if isinstance(ref, int) and not isinstance(ref, bool):
            if not 0 <= ref < len(mentions):
                raise InputError(f"{where}: relation names entity index {ref}, but there are {len(mentions)} entities")
            return mention_cluster[ref]
        if str(ref) in cluster_of_key:
            return cluster_of_key[str(ref)]
        raise InputError(f"{where}: relation names entity {ref!r}, which is neither an index nor an entity id")

    relations = dedupe_relations(
        GoldRelation(cluster_index(r["head"]), cluster_index(r["tail"]), relation_type(str(r["type"]), schema, where))
        for r in raw.get("relations", ())
    )
    sentences = tuple(tuple(map(int, s)) for s in raw["sentences"]) if raw.get("sentences") else split_sentences(text)
    return AnnotatedDocument(str(raw.get("id", where)), text, tuple(mentions), tuple(tuple(c) for c in clusters),
                             relations, sentences, source)  # type: ignore[arg-type]
