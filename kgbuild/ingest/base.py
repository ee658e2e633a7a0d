"""What every reader shares: options, the bad-input record and the error readers raise."""

from __future__ import annotations

from dataclasses import dataclass

from kgbuild.errors import printable

MB = 1024 * 1024
# A document longer than this many characters becomes parts of at most this size (a .txt/.md file is streamed):
# the extractor's memory grows with the square of a document's mentions, so this, times --batch-size, bounds
# a build's memory whatever the file (docs/reliability.md).
DEFAULT_PART_CHARS = 10_000


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How inputs are read; the CLI's ``--max-file-mb`` and ``--jsonl-*-field`` options land here."""

    max_file_bytes: int = 100 * MB  # a larger file is bad input: say so rather than exhaust memory
    part_chars: int = DEFAULT_PART_CHARS  # longer documents are built as parts of this many characters
    jsonl_text_field: str = "text"
    jsonl_id_field: str | None = None  # e.g. "id": kept in metadata and in the document's source
    jsonl_title_field: str = "title"
    strict: bool = False  # bad input raises InputError instead of being skipped and counted

    def __post_init__(self) -> None:
        if self.max_file_bytes < 1:
            raise ValueError("max_file_bytes must be positive")
        if self.part_chars < 1:
            raise ValueError("part_chars must be positive")


@dataclass(frozen=True, slots=True)
class BadInput:
    """A file (or one JSONL line) that was skipped, with the reason shown to the user."""

    source: str  # "path" or "path:line"
    reason: str

    def __str__(self) -> str:
        return printable(f"{self.source}: {self.reason}")


class BadFile(Exception):
    """Raised inside a reader for a file it cannot read; turned into a :class:`BadInput`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
