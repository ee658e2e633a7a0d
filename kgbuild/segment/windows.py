"""Encoder windows: whole sentences up to a token budget, overlapping; over-long sentences cut in pieces.

Pure functions over offsets, so the invariants (every sentence character lies in some window, no
window over budget) can be property-tested without a model.
"""

from __future__ import annotations

from typing import Callable, Sequence

from kgbuild.records import Token, Window

# Cost of the text from word token a up to (not including) word token b, in model tokens.
SpanCost = Callable[[int, int], int]


def make_windows(
    doc_id: str,
    text: str,
    tokens: Sequence[Token],
    sentence_spans: Sequence[tuple[int, int]],
    max_tokens: int,
    overlap_sentences: int,
    cost: SpanCost,
    count_text: Callable[[str], int] | None = None,
) -> list[Window]:
    """Windows over ``sentence_spans`` (word-token ranges ``[a, b)`` per sentence, in order).

    Greedily packs whole sentences up to ``max_tokens``; the next window starts
    ``overlap_sentences`` sentences back (fewer when they would not fit beside the next
    sentence). A sentence over budget gets windows of its own, cut between word tokens with
    an overlap of an eighth of the budget; a single word over budget is cut between characters
    (``count_text`` measures those pieces).
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    windows: list[Window] = []
    costs = [cost(a, b) for a, b in sentence_spans]

    def add(start: int, end: int, sentences: tuple[int, ...]) -> None:
        windows.append(Window(doc_id, len(windows), start, end, sentences))

    i, n = 0, len(sentence_spans)
    while i < n:
        if costs[i] > max_tokens:
            a, b = sentence_spans[i]
            for start, end in _pieces(text, tokens, a, b, max_tokens, cost, count_text):
                add(start, end, (i,))
            i += 1
            continue
        j, total = i, 0
        while j < n and costs[j] <= max_tokens and total + costs[j] <= max_tokens:
            total += costs[j]
            j += 1
        # Sums of per-sentence costs can differ from the cost of the joined text: check, shrink.
        while j - i > 1 and cost(sentence_spans[i][0], sentence_spans[j - 1][1]) > max_tokens:
            j -= 1
        add(tokens[sentence_spans[i][0]].start, tokens[sentence_spans[j - 1][1] - 1].end, tuple(range(i, j)))
        if j >= n:
            break
        k = max(i + 1, j - overlap_sentences)
        while k < j and (costs[j] > max_tokens or sum(costs[k : j + 1]) > max_tokens):
            k += 1
        i = k
    return windows


def _pieces(
    text: str,
    tokens: Sequence[Token],
    a: int,
    b: int,
    max_tokens: int,
    cost: SpanCost,
    count_text: Callable[[str], int] | None,
) -> list[tuple[int, int]]:
    """Character spans covering word tokens ``[a, b)``, each within budget, overlapping."""
    overlap = max_tokens // 8
    spans: list[tuple[int, int]] = []
    p = a
    while p < b:
        q = _furthest(p, b, max_tokens, cost)
        if q == p:  # one word alone is over budget: cut it between characters
            spans.extend(_char_pieces(text, tokens[p], max_tokens, count_text))
            p += 1
            continue
        spans.append((tokens[p].start, tokens[q - 1].end))
        if q >= b:
            break
        p = max(p + 1, q - overlap)
    # Without overlap, the whitespace between two pieces belongs to the first: no gap at all.
    return [(start, max(end, spans[k + 1][0]) if k + 1 < len(spans) else end) for k, (start, end) in enumerate(spans)]


def _furthest(p: int, b: int, max_tokens: int, cost: SpanCost) -> int:
    """The largest ``q`` in ``[p, b]`` with ``cost(p, q) <= max_tokens`` (costs grow with ``q``)."""
    low, high = p, b
    while low < high:
        mid = (low + high + 1) // 2
        if cost(p, mid) <= max_tokens:
            low = mid
        else:
            high = mid - 1
    return low


def _char_pieces(
    text: str, token: Token, max_tokens: int, count_text: Callable[[str], int] | None
) -> list[tuple[int, int]]:
    if count_text is None:  # counting words: a word is one token and always fits
        return [(token.start, token.end)]
    spans = []
    start = token.start
    while start < token.end:
        low, high = start + 1, token.end  # at least one character per piece, so this always ends
        while low < high:
            mid = (low + high + 1) // 2
            if count_text(text[start:mid]) <= max_tokens:
                low = mid
            else:
                high = mid - 1
        spans.append((start, low))
        start = low
    return spans
