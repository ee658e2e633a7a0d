"""The segmentation stage: documents -> sentences, word tokens and encoder windows (spaCy)."""

from __future__ import annotations

from bisect import bisect_left
from typing import Callable, Sequence

from spacy.attrs import IDX, IS_SPACE, LENGTH, SENT_START
from spacy.language import Language

from kgbuild.records import Document, SegmentedDocument, Sentence, Token
from kgbuild.segment.layout import hard_breaks
from kgbuild.segment.nlp import describe, load_nlp
from kgbuild.ingest.parts import split_text
from kgbuild.segment.windows import SpanCost, make_windows

BLOCK_CHARS = 100_000  # spaCy sees at most this much text at once (cut at paragraph boundaries)


class Segmenter:
    """Stage: ``list[Document] -> list[SegmentedDocument]``, same length and order.

    ``count_tokens`` counts the encoder's subword tokens of a text (e.g. the extractor's fast
    tokenizer); by default the budget is in spaCy word tokens. Windows never exceed
    ``max_tokens`` and every character of every sentence lies in at least one window.
    """

    name = "segment"

    def __init__(
        self,
        max_tokens: int = 256,
        overlap_sentences: int = 1,
        count_tokens: Callable[[str], int] | None = None,
        batch_size: int = 64,
        nlp: Language | None = None,
    ) -> None:
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if overlap_sentences < 0:
            raise ValueError("overlap_sentences must be 0 or more")
        self.max_tokens = max_tokens
        self.overlap_sentences = overlap_sentences
        self.count_tokens = count_tokens
        self.batch_size = batch_size
        self._nlp = nlp

    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            self._nlp = load_nlp()
        return self._nlp

    @property
    def fingerprint(self) -> str:
        """What shapes the segmentation: the pipeline, the layout rule and the window settings."""
        counter = "words" if self.count_tokens is None else "model"
        return f"{describe(self.nlp)}|layout=breaks|max={self.max_tokens}|overlap={self.overlap_sentences}|count={counter}"

    def __call__(self, docs: list[Document]) -> list[SegmentedDocument]:
        blocks: list[tuple[int, int, str]] = []  # (document index, offset, text)
        for index, doc in enumerate(docs):
            blocks.extend((index, offset, part) for offset, part in split_text(doc.text, BLOCK_CHARS))
        sentences: list[list[tuple[int, int]]] = [[] for _ in docs]
        tokens: list[list[Token]] = [[] for _ in docs]
        parsed = self.nlp.pipe((text for _, _, text in blocks), batch_size=self.batch_size)
        for (index, offset, _), sdoc in zip(blocks, parsed):
            text = docs[index].text
            if not len(sdoc):
                continue
            # One array read instead of a Python object per token: this loop is the stage's hot path.
            starts, lengths, spaces, sent_starts = sdoc.to_array([IDX, LENGTH, IS_SPACE, SENT_START]).T.tolist()
            for start, length, space in zip(starts, lengths, spaces):
                if not space:
                    start += offset
                    tokens[index].append(Token(start, start + length, text[start : start + length]))
            bounds = [i for i, flag in enumerate(sent_starts) if flag == 1 or i == 0] + [len(starts)]
            for first, stop in zip(bounds, bounds[1:]):
                span = _trim(text, offset + starts[first], offset + starts[stop - 1] + lengths[stop - 1])
                if span is not None:
                    sentences[index].append(span)
        return [self._assemble(doc, sentences[i], tokens[i]) for i, doc in enumerate(docs)]

    def _assemble(self, doc: Document, spans: list[tuple[int, int]], tokens: list[Token]) -> SegmentedDocument:
        text = doc.text
        spans = split_at_breaks(text, spans, hard_breaks(text))
        sentences = tuple(Sentence(doc.id, i, start, end, text[start:end]) for i, (start, end) in enumerate(spans))
        starts = [t.start for t in tokens]
        token_spans = [(bisect_left(starts, s.start), bisect_left(starts, s.end)) for s in sentences]
        windows = make_windows(
            doc.id, text, tokens, token_spans, self.max_tokens, self.overlap_sentences, self._cost(text, tokens), self.count_tokens
        )
        return SegmentedDocument(doc, sentences, tuple(tokens), tuple(windows))

    def _cost(self, text: str, tokens: Sequence[Token]) -> SpanCost:
        if self.count_tokens is None:
            return lambda a, b: b - a
        count = self.count_tokens
        return lambda a, b: count(text[tokens[a].start : tokens[b - 1].end]) if b > a else 0


def split_at_breaks(text: str, spans: Sequence[tuple[int, int]], breaks: Sequence[int]) -> list[tuple[int, int]]:
    """Sentence spans cut at layout breaks: spaCy runs a headline, byline or dateline line into the sentence below
    it ("SEOUL 1996-08-30\nResults of ..."), and a fact or a name must not span the two."""
    if not breaks:
        return list(spans)
    out: list[tuple[int, int]] = []
    for start, end in spans:
        cuts = [b for b in breaks[bisect_left(breaks, start) : bisect_left(breaks, end)] if b > start]
        for a, b in zip([start, *cuts], [*cuts, end]):
            piece = _trim(text, a, b)
            if piece is not None:
                out.append(piece)
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without surrounding whitespace, or None when it is only whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
