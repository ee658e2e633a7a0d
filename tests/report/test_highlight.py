"""highlight(): segments always join back to the sentence; marks land on the right characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kgbuild.report.highlight import Segment, highlight


def test_head_and_tail_marked() -> None:
    text = "Tim Cook works for Apple."
    assert highlight(text, [(19, 24, "tail"), (0, 8, "head")]) == [
        Segment("Tim Cook", "head"),
        Segment(" works for ", ""),
        Segment("Apple", "tail"),
        Segment(".", ""),
    ]


def test_overlap_keeps_the_earlier_longer_mark_and_ignores_bad_ones() -> None:
    text = "New York City"
    segments = highlight(text, [(4, 8, "tail"), (0, 13, "head"), (5, 5, "x"), (20, 30, "x"), (-5, -1, "x")])
    assert segments == [Segment("New York City", "head")]


def test_no_marks() -> None:
    assert highlight("plain", []) == [Segment("plain", "")]
    assert highlight("", [(0, 3, "head")]) == []


marks = st.lists(st.tuples(st.integers(-5, 60), st.integers(-5, 60), st.sampled_from(["head", "tail"])), max_size=6)


@given(st.text(max_size=50), marks)
def test_segments_join_back_to_the_text(text: str, spans: list[tuple[int, int, str]]) -> None:
    segments = highlight(text, spans)
    assert "".join(s.text for s in segments) == text
    for segment in segments:
        assert segment.text
    position = 0
    for segment in segments:
        if segment.role:
            assert any(max(0, s) <= position and position + len(segment.text) <= e and r == segment.role
                       for s, e, r in spans)
        position += len(segment.text)
