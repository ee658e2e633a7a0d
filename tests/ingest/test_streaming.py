"""A huge text file is read in parts at paragraph boundaries, never held whole in memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from kgbuild.ingest import BadInput, IngestOptions, read_inputs
from kgbuild.records import Document


def _write_big(path: Path, paragraphs: int) -> str:
    text = "".join(f"Paragraph {i} says that Lyon is a city in France.\nIt has a second line.\n\n" for i in range(paragraphs))
    path.write_text(text)
    return text


def test_big_file_becomes_parts_that_rebuild_it(tmp_path: Path) -> None:
    path = tmp_path / "novel.txt"
    text = _write_big(path, 400)
    docs = list(read_inputs([path], IngestOptions(part_chars=3000)))
    assert len(docs) >= len(text) // 3000
    assert all(isinstance(d, Document) for d in docs)
    assert "".join(d.text for d in docs) == text
    for i, doc in enumerate(docs):
        assert doc.metadata["part"] == i and doc.source == f"{path}#part-{i}"
        assert text[doc.metadata["offset"] :].startswith(doc.text)
        assert len(doc.text) <= 3000 and doc.text.endswith("\n\n")  # cut at a paragraph boundary
    assert len({d.id for d in docs}) == len(docs)


def test_streaming_keeps_memory_far_below_file_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    _write_big(path, 100_000)  # about 7 MB
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = 0
        for doc in read_inputs([path], IngestOptions(part_chars=200_000)):
            assert isinstance(doc, Document)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count >= size // 200_000
    assert peak < size / 5, f"peak {peak} bytes for a {size}-byte file"


def test_invalid_utf8_deep_in_a_big_file_skips_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "late.txt"
    _write_big(path, 300)
    with path.open("ab") as handle:
        handle.write(b"caf\xe9\n")
    items = list(read_inputs([path], IngestOptions(part_chars=2000)))
    assert len(items) == 1 and isinstance(items[0], BadInput)
    assert "not valid UTF-8" in items[0].reason and f"offset {path.stat().st_size - 2}" in items[0].reason
