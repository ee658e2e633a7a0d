"""Property tests: splitting text into parts never loses or reorders a character."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.ingest.parts import iter_parts, split_text

_TEXT = st.text(alphabet=st.sampled_from(list("ab \n\t.é漢")), max_size=400)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, target=st.integers(min_value=1, max_value=60))
def test_parts_rebuild_the_text_and_respect_the_budget(text: str, target: int) -> None:
    parts = split_text(text, target)
    assert "".join(part for _, part in parts) == text
    for offset, part in parts:
        assert 0 < len(part) <= target
        assert text[offset : offset + len(part)] == part


@settings(max_examples=200, deadline=None)
@given(text=_TEXT, target=st.integers(min_value=1, max_value=60), sizes=st.lists(st.integers(1, 50), max_size=20))
def test_chunking_of_the_stream_does_not_change_the_result(text: str, target: int, sizes: list[int]) -> None:
    chunks, rest = [], text
    for size in sizes:
        chunks.append(rest[:size])
        rest = rest[size:]
    chunks.append(rest)
    assert list(iter_parts(chunks, target)) == split_text(text, target)


def test_cuts_prefer_paragraphs_then_lines() -> None:
    text = "First paragraph here.\n\nSecond one, a bit longer.\nWith a line.\n\nThird."
    parts = [part for _, part in split_text(text, 40)]
    assert parts[0] == "First paragraph here.\n\n"
    assert parts[1] == "Second one, a bit longer.\nWith a line.\n\n"
