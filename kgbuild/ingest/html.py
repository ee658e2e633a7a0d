"""Reader for .html files: the main text via trafilatura (Apache-2.0), boilerplate removed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from kgbuild.ingest.base import BadFile, IngestOptions
from kgbuild.ingest.textfile import check_head, normalise_newlines
from kgbuild.records import Document

logging.getLogger("trafilatura").setLevel(logging.ERROR)


def read_html(path: Path, options: IngestOptions) -> Iterator[Document]:
    """One document per page: trafilatura's main-content text, or all visible text as a fallback."""
    import trafilatura  # imported here: it is slow to import and only HTML needs it

    data = path.read_bytes()
    check_head(data)
    try:
        result = trafilatura.bare_extraction(data, with_metadata=True, include_comments=False, favor_recall=True)
        text = result.text if result is not None and result.text else trafilatura.html2txt(data)
    except Exception as exc:  # trafilatura raises many parser errors; all mean "not readable HTML"
        raise BadFile(f"cannot parse HTML: {exc}") from None
    text = normalise_newlines(text or "")
    if not text.strip():
        raise BadFile("no text found in the HTML page")
    title = (result.title if result is not None and result.title else "") or path.stem
    yield Document.from_text(text, str(path), title=title, metadata={"format": "html"})
