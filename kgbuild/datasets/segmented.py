"""Annotated documents as the extractor's input (sentences, word tokens, encoder windows), without spaCy."""

from __future__ import annotations

import re
from typing import Callable, Sequence

from kgbuild.datasets.records import AnnotatedDocument
from kgbuild.records import Document, SegmentedDocument, Sentence, Token, Window


def sentence_windows(
    sentences: Sequence[tuple[int, int]], count: Callable[[int, int], int], max_tokens: int, overlap: int = 1
) -> list[tuple[int, int, tuple[int, ...]]]:
    """Greedy windows of whole sentences within ``max_tokens`` (``count(start, end)`` in model tokens), the next
    window repeating the last ``overlap`` sentences. A sentence over budget is a window alone; the extractor cuts it
    into overlapping chunks. (kgbuild.segment makes windows for raw documents; this one serves annotated data and needs
    no spaCy, so training runs on machines without it.)"""
    windows: list[tuple[int, int, tuple[int, ...]]] = []
    i, n = 0, len(sentences)
    while i < n:
        j = i + 1
        while j < n and count(sentences[i][0], sentences[j][1]) <= max_tokens:
            j += 1
        windows.append((sentences[i][0], sentences[j - 1][1], tuple(range(i, j))))
        if j >= n:
            break
        i = max(i + 1, j - overlap)
    return windows


def to_segmented(doc: AnnotatedDocument, count_tokens: Callable[[str], int], max_tokens: int) -> SegmentedDocument:
    """The annotated document as the extractor's input: its own sentences, word tokens and encoder windows."""
    document = Document(doc.id, doc.text, doc.source or "annotations", doc.id)
    sentences = tuple(Sentence(doc.id, i, s, e, doc.text[s:e]) for i, (s, e) in enumerate(doc.sentences))
    tokens = tuple(Token(m.start(), m.end(), m.group()) for m in re.finditer(r"\w+|[^\w\s]", doc.text))
    spans = sentence_windows(doc.sentences, lambda s, e: count_tokens(doc.text[s:e]), max_tokens)
    windows = tuple(Window(doc.id, i, s, e, idx) for i, (s, e, idx) in enumerate(spans))
    return SegmentedDocument(document, sentences, tokens, windows)
