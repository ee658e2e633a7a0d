"""Readers for annotated data: DocRED / Re-DocRED JSON, SpERT JSON (CoNLL04, SciERC, ADE), CoNLL-2003 column text,
CrossRE JSON lines, kgbuild JSONL, and the fusion gold.

Every reader yields the same record, :class:`AnnotatedDocument`: the text, character-offset mentions, the
in-document entities as mention clusters, relations between clusters and sentence spans. Token-list formats are
detokenised into readable text with character offsets (``text[start:end] == token`` for every token). With a
schema, dataset tags (PER, P17, Work_For) become the schema's type names; an unknown tag is a one-line error.
This package needs neither spaCy nor the model, so training runs anywhere torch does.
"""

from __future__ import annotations

from pathlib import Path

from kgbuild.datasets.common import detokenize, load_json, split_sentences
from kgbuild.datasets.conll2003 import looks_like_conll, read_conll2003
from kgbuild.datasets.crossre import looks_like_crossre, read_crossre
from kgbuild.datasets.docred import read_docred
from kgbuild.datasets.kgbuild_jsonl import read_jsonl
from kgbuild.datasets.records import AnnotatedDocument, GoldMention, GoldRelation
from kgbuild.datasets.segmented import sentence_windows, to_segmented
from kgbuild.datasets.spert import read_spert
from kgbuild.errors import InputError
from kgbuild.schema import Schema

__all__ = [
    "AnnotatedDocument", "GoldMention", "GoldRelation", "detect_format", "detokenize", "read_annotations",
    "read_conll2003", "read_crossre", "read_docred", "read_jsonl", "read_spert", "sentence_windows", "split_sentences", "to_segmented",
]


def detect_format(path: str | Path) -> str:
    """``docred``, ``spert``, ``conll2003``, ``crossre`` or ``jsonl``, from the extension and the first record."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return "jsonl"
    if path.is_file() and looks_like_crossre(path):
        return "crossre"
    if path.is_file() and looks_like_conll(path):
        return "conll2003"
    data = load_json(path)
    first = data[0] if isinstance(data, list) and data else {}
    if isinstance(first, dict) and "vertexSet" in first:
        return "docred"
    if isinstance(first, dict) and "tokens" in first:
        return "spert"
    raise InputError(f"{path}: unknown annotation format; expected DocRED JSON, SpERT JSON, CoNLL-2003 columns, CrossRE "
                     "JSON lines or kgbuild .jsonl")


def read_annotations(path: str | Path, schema: Schema | None = None, fmt: str = "auto") -> list[AnnotatedDocument]:
    """Read any supported format (detected from the file unless ``fmt`` names it)."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {"docred": read_docred, "spert": read_spert, "conll2003": read_conll2003, "crossre": read_crossre,
               "jsonl": read_jsonl}
    if fmt not in readers:
        raise InputError(f"{path}: unknown format {fmt!r}; use one of {sorted(readers)}")
    return readers[fmt](path, schema)
