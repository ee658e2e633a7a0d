"""CrossRE (Bassignana and Plank 2022): JSON lines, one sentence each, ``ner`` spans with an inclusive end, relations
named by their two argument spans."""

from __future__ import annotations

import json
from pathlib import Path

from kgbuild.datasets.common import dedupe_relations, detokenize, entity_type, read_text, relation_type
from kgbuild.datasets.records import AnnotatedDocument, GoldMention, GoldRelation
from kgbuild.errors import InputError
from kgbuild.schema import Schema


def read_crossre(path: str | Path, schema: Schema | None = None) -> list[AnnotatedDocument]:
    """Every line a sentence: ``sentence`` (tokens), ``ner`` ``[start, end inclusive, type]``, ``relations``
    ``[h_start, h_end, t_start, t_end, type, ...]`` (the rest: explanation and flags, kept out).

    Each entity is its own cluster (no coreference is annotated); a relation whose span is not among the entities is
    a one-line error naming the line.
    """
    path = Path(path)
    lines = read_text(path).splitlines()
    documents = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
            text, spans = detokenize(list(raw["sentence"]))
            index: dict[tuple[int, int], int] = {}
            mentions: list[GoldMention] = []
            for start, end, label in raw["ner"]:
                if (start, end) in index:
                    continue
                index[(start, end)] = len(mentions)
                mentions.append(GoldMention(spans[start][0], spans[end][1], entity_type(label, schema, where), label))
            relations = dedupe_relations(
                GoldRelation(index[(r[0], r[1])], index[(r[2], r[3])], relation_type(r[4], schema, where))
                for r in raw.get("relations", ())
            )
        except InputError:
            raise
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON: {exc.msg}") from None
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed CrossRE record ({type(exc).__name__}: {exc})") from None
        documents.append(AnnotatedDocument(str(raw.get("doc_key", f"{path.stem}-{number}")), text, tuple(mentions),
                                           tuple((i,) for i in range(len(mentions))), relations,
                                           ((0, len(text)),) if text else (), str(path)))
    return documents


def looks_like_crossre(path: Path) -> bool:
    """The first line is a JSON object with ``sentence`` and ``ner``."""
    try:
        with path.open(encoding="utf-8") as handle:
            first = handle.readline()
        record = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(record, dict) and "sentence" in record and "ner" in record
