"""Reader for .html files: the main text via trafilatura (Apache-2.0), boilerplate removed."""

from __future__ import annotations

import logging
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from kgbuild.ingest.base import BadFile, IngestOptions
from kgbuild.ingest.textfile import check_head, normalise_newlines
from kgbuild.records import Document

logging.getLogger("trafilatura").setLevel(logging.ERROR)


_HIDDEN = {"script", "style", "template", "noscript", "head"}
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "blockquote", "pre"}


class _TextCollector(HTMLParser):
    """Visible text with the standard library's parser: it keeps no tree, so any nesting depth reads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(data: bytes) -> str:
    """The page's visible text, paragraphs on their own lines, whitespace runs collapsed."""
    collector = _TextCollector()
    collector.feed(data.decode("utf-8", errors="replace"))
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).split("\n"))
    return "\n".join(line for line in lines if line)


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
    if not (text or "").strip():
        text = visible_text(data)  # e.g. a page nested deeper than lxml's limit: trafilatura sees nothing
    text = normalise_newlines(text or "")
    if not text.strip():
        raise BadFile("no text found in the HTML page")
    title = (result.title if result is not None and result.title else "") or path.stem
    yield Document.from_text(text, str(path), title=title, metadata={"format": "html"})
