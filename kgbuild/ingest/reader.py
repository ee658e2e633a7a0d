"""The ingestion entry point: paths in, documents (and named bad inputs) out, streamed."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

from kgbuild.errors import InputError
from kgbuild.ingest.base import BadFile, BadInput, IngestOptions
from kgbuild.ingest.discover import discover
from kgbuild.ingest.html import read_html
from kgbuild.ingest.jsonl import read_jsonl
from kgbuild.ingest.pdf import read_pdf
from kgbuild.ingest.plain import read_plain
from kgbuild.records import Document
from kgbuild.ingest.parts import split_text

Reader = Callable[[Path, IngestOptions], Iterable[Document | BadInput]]

READERS: dict[str, Reader] = {
    ".txt": read_plain,
    ".text": read_plain,
    ".md": read_plain,
    ".markdown": read_plain,
    "": read_plain,  # README, LICENSE...: read as text, refused if binary
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".html": read_html,
    ".htm": read_html,
    ".xhtml": read_html,
    ".pdf": read_pdf,
}
SUPPORTED = " ".join(sorted(suffix for suffix in READERS if suffix))


def read_inputs(
    paths: Iterable[str | Path], options: IngestOptions | None = None, exclude: Iterable[str | Path] = ()
) -> Iterator[Document | BadInput]:
    """Stream documents from files, directories and globs; bad files come out as :class:`BadInput`.

    With ``options.strict`` the first bad input raises :class:`InputError` instead.
    """
    return read_entries(discover(paths, exclude), options)


def read_entries(entries: Iterable[Path | BadInput], options: IngestOptions | None = None) -> Iterator[Document | BadInput]:
    """``read_inputs`` over what :func:`discover` found (so discovery errors come before any reading)."""
    options = options or IngestOptions()
    for entry in entries:
        items = [entry] if isinstance(entry, BadInput) else read_file(entry, options)
        for item in items:
            if isinstance(item, BadInput) and options.strict:
                raise InputError(f"{item} (--strict makes bad input fatal; drop it to skip bad files)")
            yield item


def read_file(path: Path, options: IngestOptions) -> Iterator[Document | BadInput]:
    """Read one file with the reader for its suffix; any problem becomes one :class:`BadInput`."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        yield BadInput(str(path), f"unsupported file type {path.suffix!r}; kgbuild reads {SUPPORTED}")
        return
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise BadFile("not a regular file")
        if size == 0:
            raise BadFile("empty file, nothing to read")
        if size > options.max_file_bytes and reader is not read_jsonl:
            raise BadFile(
                f"file is {size / 2**20:.1f} MB, over the limit of {options.max_file_bytes / 2**20:.1f} MB; "
                "raise --max-file-mb to read it"
            )
        for item in reader(path, options):
            yield from _parted(item, options.part_chars)
    except BadFile as exc:
        yield BadInput(str(path), exc.reason)
    except OSError as exc:
        yield BadInput(str(path), f"cannot read: {exc.strerror or exc}")


def _parted(item: Document | BadInput, part_chars: int) -> Iterator[Document | BadInput]:
    """A document longer than ``part_chars`` (a huge JSONL line, HTML page or PDF part) as bounded parts."""
    if isinstance(item, BadInput) or len(item.text) <= part_chars:
        yield item
        return
    base = int(item.metadata.get("offset", 0))
    for index, (offset, part) in enumerate(split_text(item.text, part_chars)):
        if part.strip():
            meta = {**item.metadata, "part": index, "offset": base + offset, "file": item.metadata.get("file", item.source)}
            title = f"{item.title} (part {index})" if item.title else ""
            yield Document.from_text(part, f"{item.source}#part-{index}", title=title, metadata=meta)


def estimate_documents(entries: Iterable[Path | BadInput], options: IngestOptions) -> int:
    """A cheap guess of how many items ``entries`` hold, for the progress bar's total."""
    total = 0
    for path in entries:
        if isinstance(path, BadInput):
            total += 1
            continue
        try:
            size = path.stat().st_size
            if READERS.get(path.suffix.lower()) is read_jsonl:
                with path.open("rb") as handle:
                    total += sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
            else:
                total += max(1, -(-size // options.part_chars)) if READERS.get(path.suffix.lower()) is read_plain else 1
        except OSError:
            total += 1
    return total
