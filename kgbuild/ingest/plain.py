"""Reader for .txt and .md files: small files in one read, huge ones streamed in parts."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from kgbuild.ingest.base import BadFile, IngestOptions
from kgbuild.ingest.markdown import markdown_to_text
from kgbuild.ingest.textfile import decode, stream_chars, validate_stream
from kgbuild.records import Document
from kgbuild.ingest.parts import iter_parts


def read_plain(path: Path, options: IngestOptions) -> Iterator[Document]:
    """One document per file, or, above ``options.part_chars`` bytes, one per part.

    A part ends at a paragraph boundary where there is one; parts carry ``metadata["part"]``,
    ``metadata["offset"]`` (their character offset in the file) and the source ``file#part-i``. Markdown
    markup is blanked with spaces (:func:`~kgbuild.ingest.markdown.markdown_to_text`), so offsets still match the file.
    """
    fmt = "markdown" if path.suffix.lower() in {".md", ".markdown"} else "text"
    if path.stat().st_size <= options.part_chars:
        text = decode(path.read_bytes())
        if not text.strip():
            raise BadFile("empty file (only whitespace), nothing to read")
        yield Document.from_text(_body(text, fmt), str(path), title=_title(path, text, fmt), metadata={"format": fmt})
        return
    validate_stream(path)  # fail before yielding anything: a file is either read whole or skipped
    title = ""
    produced = 0
    for index, (offset, part) in enumerate(iter_parts(stream_chars(path), options.part_chars)):
        if index == 0:
            title = _title(path, part, fmt)
        if not part.strip():
            continue
        produced += 1
        yield Document.from_text(
            _body(part, fmt),
            f"{path}#part-{index}",
            title=f"{title} (part {index})",
            metadata={"format": fmt, "file": str(path), "part": index, "offset": offset},
        )
    if not produced:
        raise BadFile("empty file (only whitespace), nothing to read")


def _body(text: str, fmt: str) -> str:
    return markdown_to_text(text) if fmt == "markdown" else text


def _title(path: Path, text: str, fmt: str) -> str:
    """A Markdown file's first ``# heading``, else the file name without its suffix."""
    if fmt == "markdown":
        for line in text.splitlines()[:50]:
            if line.startswith("# "):
                return " ".join(markdown_to_text(line).split())
    return path.stem
