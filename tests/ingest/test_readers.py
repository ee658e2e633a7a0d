"""Readers on real files: the mixed good/bad folder, each format, ids, limits and strict mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.errors import InputError
from kgbuild.ingest import BadInput, IngestOptions, read_inputs
from kgbuild.records import Document
from tests.fixtures.pipeline import MIXED_BAD, MIXED_GOOD_JSONL_LINES, MIXED_GOOD_SOURCES, make_pdf


def _split(items: list[Document | BadInput]) -> tuple[list[Document], list[BadInput]]:
    return [i for i in items if isinstance(i, Document)], [i for i in items if isinstance(i, BadInput)]


def test_mixed_folder_reads_good_and_names_each_bad_file(mixed_dir: Path) -> None:
    docs, bad = _split(list(read_inputs([mixed_dir])))
    expected = {str(mixed_dir / name) for name in MIXED_GOOD_SOURCES}
    expected |= {f"{mixed_dir / 'people.jsonl'}:{line}" for line in MIXED_GOOD_JSONL_LINES}
    assert {d.source for d in docs} == expected
    assert {b.source: b.reason for b in bad}.keys() == {str(mixed_dir / name) for name in MIXED_BAD}
    for item in bad:
        keyword = MIXED_BAD[item.source.removeprefix(str(mixed_dir) + "/")]
        assert keyword in item.reason, item
        assert "\n" not in str(item)


def test_strict_mode_raises_on_the_first_bad_file(mixed_dir: Path) -> None:
    with pytest.raises(InputError, match=r"blank\.md: empty"):
        list(read_inputs([mixed_dir], IngestOptions(strict=True)))


def test_ids_are_content_hashes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Paris is in France.\n")
    (tmp_path / "b.txt").write_bytes(b"\xef\xbb\xbfParis is in France.\r\n")  # BOM and CRLF: same text
    (tmp_path / "c.txt").write_text("Rome is in Italy.\n")
    docs, bad = _split(list(read_inputs([tmp_path])))
    assert not bad
    a, b, c = docs
    assert a.id == b.id == Document.from_text("Paris is in France.\n", "x").id
    assert a.text == b.text == "Paris is in France.\n"
    assert c.id != a.id


def test_utf16_and_unsupported_and_unreadable_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "wide.txt").write_bytes("Hello".encode("utf-16"))
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing-target.txt")
    (tmp_path / "folder.txt").mkdir()
    (tmp_path / "folder.txt" / "inner.txt").write_text("Inner text.")
    docs, bad = _split(list(read_inputs([tmp_path])))
    reasons = {Path(b.source).name: b.reason for b in bad}
    assert "UTF-16" in reasons["wide.txt"] and "iconv" in reasons["wide.txt"]
    assert "unsupported file type '.png'" in reasons["photo.png"]
    assert reasons["gone.txt"].startswith("cannot read")
    assert [d.text for d in docs] == ["Inner text."]


def test_size_limit_skips_big_files_and_jsonl_lines(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("word " * 400)
    (tmp_path / "small.txt").write_text("A short text.")
    lines = ['{"text": "short line"}', '{"text": "%s"}' % ("long " * 400), '{"text": "another short line"}']
    (tmp_path / "lines.jsonl").write_text("\n".join(lines) + "\n")
    options = IngestOptions(max_file_bytes=1000)
    docs, bad = _split(list(read_inputs([tmp_path], options)))
    assert sorted(d.text for d in docs) == ["A short text.", "another short line", "short line"]
    reasons = {Path(b.source).name: b.reason for b in bad}
    assert "over the limit" in reasons["big.txt"] and "--max-file-mb" in reasons["big.txt"]
    assert "over the size limit" in reasons["lines.jsonl:2"]


def test_jsonl_fields_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"doc": "d1", "body": "Oslo is in Norway."}\n\n{"doc": 7, "body": "Bern is in Switzerland."}\n{"body": "No id."}\n')
    options = IngestOptions(jsonl_text_field="body", jsonl_id_field="doc")
    docs, bad = _split(list(read_inputs([path], options)))
    assert [(d.source, d.metadata["id"], d.metadata["line"]) for d in docs] == [
        (f"{path}#d1", "d1", 1),
        (f"{path}#7", 7, 3),
    ]
    assert [str(b) for b in bad] == [f"{path}:4: no string or integer field 'doc'; set --jsonl-id-field"]
    _, bad = _split(list(read_inputs([path])))  # default text field "text" is absent on every line
    assert len(bad) == 3 and all("set --jsonl-text-field" in b.reason for b in bad)


def test_html_keeps_the_article_and_drops_boilerplate(mixed_dir: Path) -> None:
    (doc,) = read_inputs([mixed_dir / "berners-lee.html"])
    assert isinstance(doc, Document)
    assert doc.title == "Tim Berners-Lee"
    assert "invented the World Wide Web while working at CERN" in doc.text
    assert "Copyright notice" not in doc.text and "About" not in doc.text


def test_pdf_text_title_and_bad_pdfs(tmp_path: Path) -> None:
    good = make_pdf(tmp_path / "good.pdf", [["Oslo is the capital of Norway."], ["Bergen is on the west coast."]], "Norway")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    make_pdf(tmp_path / "scanned.pdf", [[]])
    docs, bad = _split(list(read_inputs([tmp_path])))
    (doc,) = docs
    assert doc.source == str(good) and doc.title == "Norway" and doc.metadata["pages"] == 2
    assert "Oslo is the capital of Norway." in doc.text and "Bergen is on the west coast." in doc.text
    reasons = {Path(b.source).name: b.reason for b in bad}
    assert "not a readable PDF" in reasons["broken.pdf"]
    assert "no extractable text" in reasons["scanned.pdf"]


def test_long_pdf_comes_in_parts(tmp_path: Path) -> None:
    pages = [[f"Page {p} line {i} tells about the city of Lyon." for i in range(20)] for p in range(6)]
    path = make_pdf(tmp_path / "long.pdf", pages)
    docs = list(read_inputs([path], IngestOptions(part_chars=2000)))
    assert len(docs) > 2 and all(isinstance(d, Document) for d in docs)
    assert [d.metadata["part"] for d in docs] == list(range(len(docs)))
    assert all(d.source == f"{path}#part-{d.metadata['part']}" and len(d.text) <= 2000 for d in docs)
    joined = "".join(d.text for d in docs)
    for p in range(6):
        assert f"Page {p} line 19 tells about the city of Lyon." in joined
