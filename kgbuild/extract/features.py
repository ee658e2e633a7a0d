"""From text windows to encoder chunks and document-level words, and back to character offsets.

Each window (whole sentences, from segmentation) is tokenised once; a window longer than the encoder's budget is cut
into overlapping chunks at word boundaries, so nothing is truncated. A *word* is a pre-tokenizer word identified by
its document character span; a word seen in several chunks (overlap) is read from the chunk where it lies furthest
from an edge. Shapes and indices here are plain Python lists so that they can be tested without a model.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Sequence

from tokenizers import Tokenizer

Span = tuple[int, int]


@dataclass
class Chunk:
    """One encoder input: ``ids`` include [CLS] and [SEP]; ``offsets`` are document characters ((-1, -1) = special)."""

    ids: list[int]
    offsets: list[Span]
    shapes: list[int] = field(default_factory=list)  # word-shape id per position (0 = special); see token_shapes


@dataclass
class EncodedDoc:
    """A document as encoder chunks plus its words; ``word_loc[w]`` = (chunk, position) of word w's first subword."""

    chunks: list[Chunk] = field(default_factory=list)
    words: list[Span] = field(default_factory=list)
    word_loc: list[tuple[int, int]] = field(default_factory=list)
    word_chunks: list[list[int]] = field(default_factory=list)  # every chunk holding word w whole, best first

    _bounds: tuple[list[Span], list[int], list[int]] | None = field(default=None, repr=False, compare=False)

    def words_in(self, start: int, end: int) -> range:
        """Indices of the words overlapping ``[start, end)`` (words are sorted and do not overlap)."""
        if self._bounds is None or self._bounds[0] is not self.words:  # built once per word list, not per call
            self._bounds = (self.words, [s for s, _ in self.words], [e for _, e in self.words])
        _, starts, ends = self._bounds
        return range(bisect_right(ends, start), bisect_left(starts, end))

    def mention_tokens(self, start: int, end: int) -> tuple[int, list[int]]:
        """(chunk, token positions) covering ``[start, end)`` in the best chunk that holds the whole mention."""
        words = self.words_in(start, end)
        if not words:
            return -1, []
        first, last = words[0], words[-1]
        holding_last = set(self.word_chunks[last])
        candidates = [c for c in self.word_chunks[first] if c in holding_last] or self.word_chunks[first]
        chunk = candidates[0]
        positions = [
            i for i, (s, e) in enumerate(self.chunks[chunk].offsets) if s >= 0 and s < end and e > start
        ]
        return chunk, positions

    @property
    def n_tokens(self) -> int:
        """Subword tokens without specials (overlap counted once per chunk)."""
        return sum(len(c.ids) - 2 for c in self.chunks)


def backend(tokenizer: object) -> Tokenizer:
    """The Rust ``tokenizers.Tokenizer`` behind a transformers fast tokenizer, without truncation or padding."""
    raw = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if not isinstance(raw, Tokenizer):
        raise TypeError("kgbuild needs a fast (Rust) tokenizer; this checkpoint only has a slow one")
    raw = Tokenizer.from_str(raw.to_str())  # a private copy: settings below must not leak into the caller's
    raw.no_truncation()
    raw.no_padding()
    return raw


def encode_documents(
    tokenizer: Tokenizer,
    texts: Sequence[str],
    windows: Sequence[Sequence[Span]],
    max_len: int,
    cls_id: int,
    sep_id: int,
) -> list[EncodedDoc]:
    """Tokenise every window of every document in one batch and build :class:`EncodedDoc` records.

    ``max_len`` counts [CLS] and [SEP]; windows over budget become chunks overlapping by a quarter of the budget.
    """
    budget = max_len - 2
    flat = [(d, s, e) for d, spans in enumerate(windows) for s, e in spans if e > s]
    encodings = tokenizer.encode_batch([texts[d][s:e] for d, s, e in flat], add_special_tokens=False)
    docs = [EncodedDoc() for _ in texts]
    occurrences: list[dict[Span, list[tuple[int, int, int]]]] = [{} for _ in texts]  # word -> (centrality, chunk, pos)
    for (d, start, stop), enc in zip(flat, encodings):
        ids, offsets, word_ids = enc.ids, enc.offsets, enc.word_ids
        shapes = token_shapes(texts[d][start:stop], offsets)
        for lo, hi in _chunk_bounds(word_ids, budget):
            chunk_index = len(docs[d].chunks)
            chunk_offsets = [(-1, -1)] + [(start + s, start + e) for s, e in offsets[lo:hi]] + [(-1, -1)]
            docs[d].chunks.append(Chunk([cls_id, *ids[lo:hi], sep_id], chunk_offsets, [0, *shapes[lo:hi], 0]))
            word_span: dict[int, list[int]] = {}
            for i in range(lo, hi):
                w = word_ids[i]
                if w is None:
                    continue
                if w in word_span:
                    word_span[w][1] = i
                else:
                    word_span[w] = [i, i]
            for w, (a, b) in word_span.items():
                if (a == lo and a > 0 and word_ids[a - 1] == w) or (b == hi - 1 and b + 1 < len(word_ids) and word_ids[b + 1] == w):
                    continue  # a word cut by the chunk edge is read from another chunk
                span = (start + offsets[a][0], start + offsets[b][1])
                pos = a - lo + 1
                centrality = min(a - lo, hi - 1 - b)
                occurrences[d].setdefault(span, []).append((centrality, chunk_index, pos))
    for doc, occ in zip(docs, occurrences):
        spans = _non_overlapping(sorted(occ))
        doc.words = spans
        for span in spans:
            ranked = sorted(occ[span], key=lambda o: (-o[0], o[1]))
            doc.word_loc.append((ranked[0][1], ranked[0][2]))
            doc.word_chunks.append([c for _, c, _ in ranked])
    return docs


# ---------------------------------------------------------------- word shapes (the cased signal)
#
# The packaged encoder is uncased: "Bush" and "bush", "US" and "us" are the same ids. Each subword therefore also
# gets a shape id read from the original text: the shape of the whitespace token it lies in (U.S. -> X.X.,
# LONDON -> XX, 1996-08-30 -> d.), its own case, and whether it begins that token.

WORD_SHAPES = ("x", "Xx", "X", "XX", "X.X.", "mixed", "d", "d.", "xd", ".")
SUBWORD_CASES = ("none", "lower", "Title", "UPPER")
N_SHAPES = 1 + len(WORD_SHAPES) * len(SUBWORD_CASES) * 2  # id 0: [CLS], [SEP], padding
_EDGE_PUNCT = "\"'`()[]{}<>,;:!?"
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")
_WHITESPACE_TOKEN = re.compile(r"\S+")


def word_shape(token: str) -> str:
    """The shape class of a whitespace token (edge punctuation ignored; a trailing full stop too, except in
    initials such as "U.S." or "a.m.")."""
    core = token.strip(_EDGE_PUNCT)
    if not _INITIALS.fullmatch(core) and core.endswith(".") and len(core) > 1:
        core = core.rstrip(".")
    letters = [c for c in core if c.isalpha()]
    digits = any(c.isdigit() for c in core)
    if not letters:
        if not digits:
            return "."
        return "d" if core.isdigit() else "d."
    if digits:
        return "xd"
    if all(c.isupper() for c in letters):
        if "." in core:
            return "X.X."
        return "X" if len(letters) == 1 else "XX"
    if all(c.islower() for c in letters):
        return "x"
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return "Xx"
    return "mixed"


def subword_case(piece: str) -> str:
    """The case of one subword's own characters."""
    letters = [c for c in piece if c.isalpha()]
    if not letters:
        return "none"
    if all(c.islower() for c in letters):
        return "lower"
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return "UPPER"
    return "Title"


def shape_id(shape: str, case: str, begins: bool) -> int:
    """The embedding row of a (word shape, subword case, begins-the-token) triple; ids start at 1."""
    return 1 + (WORD_SHAPES.index(shape) * len(SUBWORD_CASES) + SUBWORD_CASES.index(case)) * 2 + int(begins)


def token_shapes(text: str, offsets: Sequence[Span]) -> list[int]:
    """Shape ids of a window's subwords, from their ``offsets`` into ``text`` (the window's own characters)."""
    tokens = [(m.start(), m.end()) for m in _WHITESPACE_TOKEN.finditer(text)]
    starts = [s for s, _ in tokens]
    cache: dict[int, str] = {}
    out = []
    for s, e in offsets:
        k = bisect_right(starts, s) - 1
        if k < 0 or e <= s:
            out.append(0)
            continue
        if k not in cache:
            cache[k] = word_shape(text[tokens[k][0] : tokens[k][1]])
        out.append(shape_id(cache[k], subword_case(text[s:e]), s == tokens[k][0]))
    return out


def _chunk_bounds(word_ids: Sequence[int | None], budget: int) -> list[Span]:
    """Token ranges of at most ``budget`` tokens covering a window, cut between words where possible."""
    n = len(word_ids)
    if n <= budget:
        return [(0, n)] if n else []
    bounds = []
    overlap = budget // 4
    lo = 0
    while lo < n:
        hi = min(lo + budget, n)
        if hi < n:  # step back to a word boundary unless one word fills the whole budget
            cut = hi
            while cut > lo + 1 and word_ids[cut] is not None and word_ids[cut] == word_ids[cut - 1]:
                cut -= 1
            hi = cut if cut > lo + 1 else hi
        bounds.append((lo, hi))
        if hi >= n:
            break
        nxt = max(lo + 1, hi - overlap)
        while nxt > lo + 1 and word_ids[nxt] is not None and word_ids[nxt] == word_ids[nxt - 1]:
            nxt -= 1
        lo = nxt
    return bounds


def _non_overlapping(spans: list[Span]) -> list[Span]:
    """Sorted word spans with overlaps removed (two windows may pre-tokenise a boundary differently)."""
    kept: list[Span] = []
    for span in spans:
        if kept and span[0] < kept[-1][1]:
            if span[1] - span[0] > kept[-1][1] - kept[-1][0]:
                kept[-1] = span
            continue
        kept.append(span)
    return kept


def bio_labels(doc: EncodedDoc, mentions: Sequence[tuple[int, int, str]], label_index: dict[str, int]) -> list[int]:
    """BIO label ids per document word from typed character spans (longer spans win where mentions nest)."""
    labels = [label_index["O"]] * len(doc.words)
    for start, end, type_ in sorted(mentions, key=lambda m: m[1] - m[0]):
        words = doc.words_in(start, end)
        for k, w in enumerate(words):
            labels[w] = label_index[f"{'B' if k == 0 else 'I'}-{type_}"]
    return labels
