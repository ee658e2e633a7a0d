"""Reader for .pdf files via pypdf (BSD-3-Clause): text page by page, parts for long files."""

from __future__ import annotations

import logging
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from kgbuild.ingest.base import BadFile, BadInput, IngestOptions
from kgbuild.records import Document
from kgbuild.ingest.parts import iter_parts

if TYPE_CHECKING:
    from pypdf import PdfReader

logging.getLogger("pypdf").setLevel(logging.ERROR)


def read_pdf(path: Path, options: IngestOptions) -> Iterator[Document | BadInput]:
    """Extract text page by page (never the whole file as one string first).

    A page whose text cannot be extracted is reported as ``file#page-N`` and skipped; the text
    is cut into parts of ``options.part_chars`` at paragraph boundaries when it is longer.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise BadFile("encrypted PDF; decrypt it first (e.g. qpdf --decrypt)")
        pages = reader.pages
        count = len(pages)
    except BadFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadFile(f"not a readable PDF: {exc}") from None
    title = _title(reader) or path.stem
    problems: list[BadInput] = []

    def page_texts() -> Iterator[str]:
        for number in range(count):
            try:
                text = pages[number].extract_text() or ""
            except Exception as exc:  # pypdf raises many kinds of errors on broken pages
                problems.append(BadInput(f"{path}#page-{number + 1}", f"cannot extract text: {exc}"))
                continue
            yield text.strip() + "\n\n"

    parts = iter_parts(page_texts(), options.part_chars)
    first = next(parts, None)
    second = next(parts, None)
    yield from problems
    problems.clear()
    if second is None:
        if first is None or not first[1].strip():
            raise BadFile("no extractable text (a scanned PDF? run OCR on it first)")
        yield Document.from_text(first[1].strip(), str(path), title=title, metadata={"format": "pdf", "pages": count})
        return
    for index, (offset, part) in enumerate(chain([first, second], parts)):
        yield from problems
        problems.clear()
        if part.strip():
            yield Document.from_text(
                part,
                f"{path}#part-{index}",
                title=f"{title} (part {index})",
                metadata={"format": "pdf", "file": str(path), "part": index, "offset": offset, "pages": count},
            )
    yield from problems


def _title(reader: "PdfReader") -> str:
    try:
        metadata = reader.metadata
        return str(metadata.title).strip() if metadata is not None and metadata.title else ""
    except Exception:  # broken metadata must not lose the text
        return ""
