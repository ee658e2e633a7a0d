"""What the readers share: detokenising token lists with offsets, a spaCy-free sentence splitter, mapping dataset
tags to schema types, loading JSON with one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from kgbuild.datasets.records import GoldRelation
from kgbuild.errors import InputError
from kgbuild.schema import Schema

_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'s", "'S", "n't", "'re", "'ve", "'ll", "'d", "'m", "''", "-RRB-"}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "``", "#", "-LRB-"}


def detokenize(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join word tokens into readable text; returns the text and each token's ``(start, end)``.

    Spaces are dropped before closing punctuation and clitics and after opening brackets, so the text reads like
    the original; the subword tokenizer splits punctuation anyway, so the model sees the same pieces.
    """
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    previous = ""
    for index, token in enumerate(tokens):
        token = token if token.strip() else "_"  # an empty or blank token would break offsets
        token = re.sub(r"\s+", "_", token)
        if index > 0 and token not in _NO_SPACE_BEFORE and previous not in _NO_SPACE_AFTER:
            parts.append(" ")
            position += 1
        spans.append((position, position + len(token)))
        parts.append(token)
        position += len(token)
        previous = token
    return "".join(parts), spans


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(\s+)(?=[\"'(\[]*[A-Z0-9])")


def split_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """A dependency-free sentence splitter (punctuation + capital), for user annotations without sentences."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if text[start : match.start(1)].strip():
            spans.append(strip_span(text, start, match.start(1)))
        start = match.end()
    if text[start:].strip():
        spans.append(strip_span(text, start, len(text)))
    return tuple(spans) or ((0, len(text)),)


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def entity_type(tag: str, schema: Schema | None, where: str) -> str:
    if schema is None:
        return tag
    try:
        return schema.entity_for_label(tag)
    except KeyError:
        raise InputError(
            f"{where}: entity tag {tag!r} is not in schema {schema.name!r}; add it to an entity type's labels"
        ) from None


def relation_type(tag: str, schema: Schema | None, where: str) -> str:
    if schema is None:
        return tag
    try:
        return schema.relation_for_label(tag)
    except KeyError:
        raise InputError(
            f"{where}: relation tag {tag!r} is not in schema {schema.name!r}; add it to a relation type's labels"
        ) from None


def read_text(path: Path) -> str:
    """A data file's text, or a one-line error naming it (missing, unreadable, not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: data file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read data file: {exc}") from None


def load_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def dedupe_relations(relations: Iterable[GoldRelation]) -> tuple[GoldRelation, ...]:
    """One relation per (head, tail, type): DocRED repeats some with different evidence."""
    kept: dict[tuple[int, int, str], GoldRelation] = {}
    for relation in relations:
        kept.setdefault((relation.head, relation.tail, relation.type), relation)
    return tuple(kept.values())
