"""Reader for .jsonl files: one document per line, read line by line; a bad line is skipped alone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import BinaryIO, Iterator

from kgbuild.ingest.base import BadFile, BadInput, IngestOptions
from kgbuild.ingest.textfile import SNIFF_BYTES, check_head, normalise_newlines
from kgbuild.records import Document


_SURROGATE = re.compile("[\ud800-\udfff]")


def read_jsonl(path: Path, options: IngestOptions) -> Iterator[Document | BadInput]:
    """Yield a document per line with a non-empty string in ``options.jsonl_text_field``.

    Blank lines are ignored; any other line that cannot be used becomes a :class:`BadInput`
    named ``file:line`` and the rest of the file is still read. A line longer than
    ``options.max_file_bytes`` is skipped without being held in memory.
    """
    limit = options.max_file_bytes
    with path.open("rb") as handle:
        check_head(handle.read(SNIFF_BYTES))
        handle.seek(0)
        nonblank = 0
        lineno = 0
        while True:
            raw = handle.readline(limit + 1)
            if not raw:
                break
            lineno += 1
            where = f"{path}:{lineno}"
            if len(raw) > limit and not raw.endswith(b"\n"):
                nonblank += 1
                _skip_rest_of_line(handle)
                yield BadInput(where, f"line is over the size limit of {limit / 2**20:.1f} MB; raise --max-file-mb")
                continue
            if not raw.strip():
                continue
            nonblank += 1
            yield _parse_line(raw, where, lineno, options)
    if not nonblank:
        raise BadFile("empty file (only blank lines), nothing to read")


def _skip_rest_of_line(handle: BinaryIO) -> None:
    while True:
        block = handle.readline(1 << 20)
        if not block or block.endswith(b"\n"):
            return


def _parse_line(raw: bytes, where: str, lineno: int, options: IngestOptions) -> Document | BadInput:
    try:
        line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        return BadInput(where, f"not valid UTF-8 (byte 0x{raw[exc.start:exc.start + 1].hex()} at column {exc.start + 1})")
    try:
        record = json.loads(line.rstrip())
    except json.JSONDecodeError as exc:
        return BadInput(where, f"malformed JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return BadInput(where, "JSON nested too deeply to read (over Python's recursion limit)")
    if not isinstance(record, dict):
        return BadInput(where, f"expected a JSON object, got {type(record).__name__}")
    field = options.jsonl_text_field
    text = record.get(field)
    if not isinstance(text, str):
        found = ", ".join(sorted(map(str, record))[:8]) or "none"
        return BadInput(where, f"no string field {field!r} (fields: {found}); set --jsonl-text-field")
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        return BadInput(
            where,
            f"field {field!r} holds a lone surrogate (\\u{ord(surrogate.group()):04x} at character {surrogate.start()}), not valid Unicode",
        )
    text = normalise_newlines(text)
    if not text.strip():
        return BadInput(where, f"field {field!r} is empty")
    metadata: dict[str, object] = {"format": "jsonl", "line": lineno}
    source = where
    if options.jsonl_id_field is not None:
        external = record.get(options.jsonl_id_field)
        if not isinstance(external, (str, int)) or isinstance(external, bool) or external == "":
            return BadInput(where, f"no string or integer field {options.jsonl_id_field!r}; set --jsonl-id-field")
        metadata["id"] = external
        source = f"{path_of(where)}#{external}"
    title = record.get(options.jsonl_title_field)
    return Document.from_text(text, source, title=title if isinstance(title, str) else "", metadata=metadata)


def path_of(where: str) -> str:
    """``file.jsonl:12`` -> ``file.jsonl``."""
    return where.rsplit(":", 1)[0]
