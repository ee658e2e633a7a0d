"""Annotated data read for scoring a model: the data's own tags projected onto the model's schema.

Training reads data strictly (every tag must map onto the schema). Scoring may meet data annotated for more than the
model extracts: CrossRE's news sentences (CoNLL-2003 ``eng.testa``) relate people, places and organisations as the
news model does, and also annotate ``win-defeat`` or ``opposite``, which no relation of it means. Such relations are
left out of the gold and counted, so that the report can say what was not scored; an entity tag the schema does not
know is still a one-line error (entity scores would mean nothing without it). A relation tag is mapped with its
arguments' types (:meth:`kgbuild.schema.Schema.relation_for_label`), so one tag can stand for several relations.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from kgbuild.datasets import read_annotations
from kgbuild.datasets.common import entity_type
from kgbuild.datasets.records import AnnotatedDocument, GoldMention
from kgbuild.schema import Schema


def onto_schema(docs: list[AnnotatedDocument], schema: Schema, where: str) -> tuple[list[AnnotatedDocument], Counter]:
    """Documents read with their own tags (``schema=None``), retyped through ``schema``, and how many relations of
    each tag were left out (no relation of the schema means that tag between those two types)."""
    left_out: Counter = Counter()
    out = []
    for doc in docs:
        mentions = tuple(GoldMention(m.start, m.end, entity_type(m.label or m.type, schema, f"{where}: {doc.id}"),
                                     m.label or m.type) for m in doc.mentions)
        typed = replace(doc, mentions=mentions)
        relations = []
        for r in doc.relations:
            head, tail = typed.cluster_type(r.head), typed.cluster_type(r.tail)
            try:
                relations.append(replace(r, type=schema.relation_for_label(r.type, head, tail)))
            except KeyError:
                left_out[r.type] += 1
        out.append(replace(typed, relations=tuple(dict.fromkeys(relations))))
    return out, left_out


def read_for_scoring(path: str | Path, schema: Schema) -> tuple[list[AnnotatedDocument], dict[str, int]]:
    """Any format ``kgbuild eval`` reads, projected onto ``schema`` (see the module docstring)."""
    docs, left_out = onto_schema(read_annotations(path, None), schema, str(path))
    return docs, dict(left_out.most_common())
