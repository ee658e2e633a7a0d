"""Lossless splitting of a long text stream into parts at paragraph boundaries.

Used by ingestion (a huge file becomes several documents read incrementally) and by
segmentation (spaCy sees blocks of bounded size). Joining the parts gives back the input
exactly, so no character is ever dropped.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
_LINE = re.compile(r"\n")
_SENTENCE = re.compile(r"[.!?][\"'\u201d)\]]*\s+")
_SPACE = re.compile(r"\s")


def find_cut(text: str, target: int, start: int = 0) -> int:
    """Where to cut ``text[start:]`` so the part holds at most ``target`` characters (an index into ``text``).

    Prefers the last paragraph break, then the last line break, then the last sentence end, then the last whitespace
    in the second half of the budget; cuts hard at ``target`` only when there is none.
    """
    end = start + target
    if len(text) <= end:
        return len(text)
    low = start + max(1, target // 2)
    for pattern in (_PARAGRAPH, _LINE, _SENTENCE, _SPACE):
        cut = 0
        for match in pattern.finditer(text, low - 1, end):
            cut = match.end()
        if cut >= low:
            return cut
    return end


def iter_parts(chunks: Iterable[str], target: int) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, part)`` pairs of at most ``target`` characters from a stream of chunks.

    ``"".join(part for _, part in iter_parts(chunks, n)) == "".join(chunks)`` always holds;
    only about ``target`` plus one chunk of text is held in memory at a time.
    """
    if target < 1:
        raise ValueError("target must be at least 1 character")
    buffer = ""
    offset = 0  # offset of buffer[0] in the whole stream
    for chunk in chunks:
        buffer += chunk
        start = 0
        while len(buffer) - start > target:
            cut = find_cut(buffer, target, start)
            yield offset + start, buffer[start:cut]
            start = cut
        offset += start
        buffer = buffer[start:]
    if buffer:
        yield offset, buffer


def split_text(text: str, target: int) -> list[tuple[int, str]]:
    """``iter_parts`` over one string: ``(offset, part)`` pairs that rebuild ``text`` exactly."""
    return list(iter_parts([text], target))
