"""CoNLL-2003 column text (``token POS chunk NER``, IOB2 or IOB1 tags, blank line between sentences).

The English release has no document boundaries once ``-DOCSTART-`` lines are stripped (as in the shared copy), so
documents are rebuilt from Reuters' layout: every story is a headline, a dateline ("LONDON 1996-08-30") and a body,
so a story starts one sentence before each dateline. With ``-DOCSTART-`` lines present they decide instead. In a
document's text the headline and dateline are lines of their own and the body's sentences follow one a line, as
the stories were laid out; ``sentences`` gives every sentence's span.
"""

from __future__ import annotations

import re
from pathlib import Path

from kgbuild.datasets.common import detokenize, entity_type, read_text
from kgbuild.datasets.records import AnnotatedDocument, GoldMention
from kgbuild.errors import InputError
from kgbuild.schema import Schema

DOCSTART = "-DOCSTART-"
# "LONDON 1996-08-30", "MILWAUKEE , Wisconsin 1996-08-29", "1996-08-30" (tokens joined by spaces): an optional place
# in capitals, optionally a region, then the ISO date.
_DATELINE = re.compile(r"^(?:[A-Z][A-Z .'&/-]*(?: , [A-Z][\w .'&/-]*)? )?\d{4}-\d{2}-\d{2}$")
_TAG = re.compile(r"^(O|[BIE]-\S+)$")

Sentence = list[tuple[str, str]]  # (token, NER tag)


def read_sentences(path: str | Path) -> tuple[list[Sentence], list[int]]:
    """Sentences of ``(token, tag)`` and the indices of sentences that follow a ``-DOCSTART-`` line."""
    path = Path(path)
    lines = read_text(path).splitlines()
    sentences: list[Sentence] = []
    starts: list[int] = []
    current: Sentence = []
    for number, line in enumerate(lines, 1):
        columns = line.split()
        if not columns:
            if current:
                sentences.append(current)
                current = []
            continue
        if columns[0] == DOCSTART:
            if current:
                sentences.append(current)
                current = []
            starts.append(len(sentences))
            continue
        if len(columns) < 2 or not _TAG.match(columns[-1]):
            raise InputError(f"{path}:{number}: expected 'token ... NER-tag' columns (IOB tag last), got {line[:60]!r}")
        current.append((columns[0], columns[-1]))
    if current:
        sentences.append(current)
    return sentences, starts


def is_dateline(tokens: list[str]) -> bool:
    """A Reuters dateline: a place in capitals and an ISO date, alone on its line."""
    return bool(_DATELINE.match(" ".join(tokens)))


def is_byline(tokens: list[str]) -> bool:
    """A byline ("Peter Blackburn"): a few capitalised words and no closing full stop."""
    return 1 <= len(tokens) <= 5 and tokens[-1] != "." and all(t[:1].isupper() for t in tokens)


def document_starts(sentences: list[Sentence], docstarts: list[int]) -> list[int]:
    """First sentence of every document: ``-DOCSTART-`` lines when there are any, else the headline before each
    dateline (the sentence before it, or the one before a byline)."""
    if docstarts:
        starts = {0, *docstarts}
    else:
        starts = {0}
        for i, sentence in enumerate(sentences):
            if i > 0 and is_dateline([t for t, _ in sentence]):
                previous = i - 1
                if previous > 0 and is_byline([t for t, _ in sentences[previous]]):
                    previous -= 1
                starts.add(previous)
    return sorted(s for s in starts if s < len(sentences))


def spans_of(tags: list[str]) -> list[tuple[int, int, str]]:
    """``(first, end_exclusive, label)`` per entity; IOB2 (``B-`` begins every entity) and IOB1 both read right."""
    spans: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        if start >= 0 and (prefix != "I" or kind != label):
            spans.append((start, i, label))
            start = -1
        if prefix == "B" or (prefix == "I" and start < 0):
            start, label = i, kind
    return spans


def read_conll2003(path: str | Path, schema: Schema | None = None, documents: bool = True) -> list[AnnotatedDocument]:
    """CoNLL-2003 as documents (see the module docstring), or one record per sentence with ``documents=False``.

    Each mention is its own cluster; there are no relations.
    """
    path = Path(path)
    sentences, docstarts = read_sentences(path)
    starts = document_starts(sentences, docstarts) if documents else list(range(len(sentences)))
    out = []
    for number, (lo, hi) in enumerate(zip(starts, [*starts[1:], len(sentences)])):
        text_parts: list[str] = []
        offset = 0
        mentions: list[GoldMention] = []
        sentence_spans: list[tuple[int, int]] = []
        for index in range(lo, hi):
            tokens = [t for t, _ in sentences[index]]
            line, spans = detokenize(tokens)
            if text_parts:
                text_parts.append("\n")
                offset += 1
            sentence_spans.append((offset, offset + len(line)))
            where = f"{path}: sentence {index + 1}"
            for first, end, label in spans_of([tag for _, tag in sentences[index]]):
                mentions.append(GoldMention(offset + spans[first][0], offset + spans[end - 1][1],
                                            entity_type(label, schema, where), label))
            text_parts.append(line)
            offset += len(line)
        text = "".join(text_parts)
        out.append(AnnotatedDocument(f"{path.name}-{number + 1}", text, tuple(mentions),
                                     tuple((i,) for i in range(len(mentions))), (), tuple(sentence_spans), str(path)))
    return out


def looks_like_conll(path: Path) -> bool:
    """The first non-blank line is ``-DOCSTART-`` or columns ending in an IOB tag."""
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                columns = line.split()
                if columns:
                    return columns[0] == DOCSTART or (len(columns) >= 2 and bool(_TAG.match(columns[-1])))
    except (OSError, UnicodeDecodeError):
        return False
    return False
