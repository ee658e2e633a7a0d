"""Property tests of window packing on synthetic sentences with arbitrary subword costs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.records import Token
from kgbuild.segment.windows import make_windows


@st.composite
def documents(draw):  # type: ignore[no-untyped-def]
    """Sentences of words; each word has a subword cost (1..9): a toy model tokenizer."""
    sentences = draw(st.lists(st.lists(st.integers(1, 9), min_size=1, max_size=30), min_size=0, max_size=12))
    text, tokens, spans, cost_of = "", [], [], {}
    for words in sentences:
        first = len(tokens)
        for cost in words:
            word = "w" * cost  # a word's cost is its length, so a text's cost is computable
            tokens.append(Token(len(text), len(text) + cost, word))
            text += word + " "
        spans.append((first, len(tokens)))
        text += "\n"
    return text, tokens, spans


def _count(text: str) -> int:
    return sum(len(word) for word in text.split())


@settings(max_examples=400, deadline=None)
@given(doc=documents(), max_tokens=st.integers(1, 40), overlap=st.integers(0, 3))
def test_windows_cover_every_sentence_and_respect_the_budget(doc, max_tokens: int, overlap: int) -> None:  # type: ignore[no-untyped-def]
    text, tokens, spans = doc

    def cost(a: int, b: int) -> int:
        return _count(text[tokens[a].start : tokens[b - 1].end]) if b > a else 0

    windows = make_windows("d", text, tokens, spans, max_tokens, overlap, cost, _count)
    assert [w.index for w in windows] == list(range(len(windows)))
    for w in windows:
        assert _count(text[w.start : w.end]) <= max_tokens
    for i, (a, b) in enumerate(spans):
        covered = set()
        for w in windows:
            if i in w.sentence_indices:
                covered.update(range(w.start, w.end))
        assert set(range(tokens[a].start, tokens[b - 1].end)) <= covered, f"sentence {i} not covered"
    starts = [w.start for w in windows]
    assert starts == sorted(starts)


def test_consecutive_windows_share_the_overlap_sentences() -> None:
    tokens, spans, text = [], [], ""
    for i in range(10):  # ten sentences of three one-token words
        first = len(tokens)
        for _ in range(3):
            tokens.append(Token(len(text), len(text) + 1, "w"))
            text += "w "
        spans.append((first, len(tokens)))
    windows = make_windows("d", text, tokens, spans, 9, 1, lambda a, b: b - a)
    assert [w.sentence_indices for w in windows] == [(0, 1, 2), (2, 3, 4), (4, 5, 6), (6, 7, 8), (8, 9)]
    windows = make_windows("d", text, tokens, spans, 9, 0, lambda a, b: b - a)
    assert [w.sentence_indices for w in windows] == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9,)]
