"""Cut a sentence into plain and highlighted segments; a pure function, so the page can escape each piece."""

from __future__ import annotations

from typing import NamedTuple


class Segment(NamedTuple):
    text: str
    role: str  # "" for plain text, else e.g. "head" or "tail"


def highlight(text: str, marks: list[tuple[int, int, str]]) -> list[Segment]:
    """Segments of ``text`` with ``marks`` (start, end, role; offsets into ``text``) highlighted.

    Marks outside the text or empty are ignored; where marks overlap, the earlier (then longer) one wins,
    so the segments always join back to ``text`` exactly.
    """
    clipped = ((max(0, s), min(len(text), e), role) for s, e, role in marks)
    usable = sorted(((s, e, role) for s, e, role in clipped if e > s), key=lambda m: (m[0], -(m[1] - m[0])))
    segments: list[Segment] = []
    cursor = 0
    for start, end, role in usable:
        if start < cursor:
            continue  # overlaps a mark already taken
        if start > cursor:
            segments.append(Segment(text[cursor:start], ""))
        segments.append(Segment(text[start:end], role))
        cursor = end
    if cursor < len(text):
        segments.append(Segment(text[cursor:], ""))
    return segments
