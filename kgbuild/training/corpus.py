"""Raw text for tokenizer training and pretraining, read with kgbuild's own ingestion (same readers, same errors).

Documents stream one at a time, so a corpus never has to fit in memory. Bad files are skipped and counted (or fatal
with ``strict``), exactly as ``kgbuild build`` treats them. On a bare GPU image where the ingestion package cannot be
imported (it pulls in spaCy and pydantic), a minimal .txt/.jsonl reader takes over so pretraining still runs there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kgbuild.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class CorpusStats:
    """What a pass over the corpus read and skipped (shown in the command's summary)."""

    documents: int = 0
    characters: int = 0
    skipped: list[str] = field(default_factory=list)  # "path: reason", one per bad input


def iter_texts(paths: Sequence[str | Path], strict: bool = False, stats: CorpusStats | None = None) -> Iterator[str]:
    """Yield the text of every document under ``paths`` (files, directories, globs), in a stable order."""
    stats = stats if stats is not None else CorpusStats()
    try:
        from kgbuild.ingest import BadInput, IngestOptions, read_inputs
    except ImportError as exc:  # bare image without spaCy/pydantic: fall back to the two plain formats
        log.warning("kgbuild.ingest unavailable (%s); reading .txt and .jsonl with the minimal reader", exc)
        yield from _fallback_texts(paths, strict, stats)
        return
    for item in read_inputs(paths, IngestOptions(strict=strict)):
        if isinstance(item, BadInput):
            stats.skipped.append(str(item))  # the command's summary names them
            continue
        stats.documents += 1
        stats.characters += len(item.text)
        yield item.text
    if stats.documents == 0:
        raise InputError(f"{', '.join(map(str, paths))}: no readable documents in the corpus; check the paths")


def _fallback_texts(paths: Sequence[str | Path], strict: bool, stats: CorpusStats) -> Iterator[str]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{raw}: no such file or directory; check the path")
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    for path in files:
        if path.suffix.lower() in {".txt", ".md", ""}:
            text = path.read_text(encoding="utf-8", errors="replace")
            texts = [text] if text.strip() else []
        elif path.suffix.lower() in {".jsonl", ".ndjson"}:
            with path.open(encoding="utf-8") as handle:
                texts = [t for t in (json.loads(line).get("text") for line in handle if line.strip()) if t]
        else:
            texts = []
        if not texts:
            message = f"{path}: no text read (the minimal reader takes non-empty .txt, .md and .jsonl)"
            if strict:
                raise InputError(message)
            stats.skipped.append(message)
            continue
        for text in texts:
            stats.documents += 1
            stats.characters += len(text)
            yield text
    if stats.documents == 0:
        raise InputError(f"{', '.join(map(str, paths))}: no readable documents in the corpus; check the paths")
