"""Plain-text decoding shared by the readers: binary sniffing, strict UTF-8, streamed reading."""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import Iterator

from kgbuild.ingest.base import BadFile

SNIFF_BYTES = 8192  # like git: a NUL byte in the first 8 KiB means binary
CHUNK_BYTES = 1 << 16

# UTF-32 first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", 4),
    (codecs.BOM_UTF32_BE, "utf-32-be", 4),
    (codecs.BOM_UTF16_LE, "utf-16-le", 2),
    (codecs.BOM_UTF16_BE, "utf-16-be", 2),
)


def is_wide_unicode(head: bytes) -> bool:
    """Whether ``head`` is UTF-16/32 text: a BOM *followed by text that decodes* in that encoding.

    ``\\xff\\xfe`` alone is not enough: ``\\xff\\xfe\\xfd text`` is a broken UTF-8 file, not UTF-16.
    """
    for bom, codec, unit in _WIDE_BOMS:
        if head.startswith(bom):
            body = head[len(bom) :]
            body = body[: len(body) - len(body) % unit]
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            if text and sum(c.isprintable() or c.isspace() for c in text) >= 0.9 * len(text):
                return True
    return False


def check_head(head: bytes) -> None:
    """Refuse UTF-16/32 and binary files from their first bytes, with the fix in the message."""
    if is_wide_unicode(head[:SNIFF_BYTES]):
        raise BadFile("is UTF-16/UTF-32 encoded; convert it to UTF-8 (e.g. iconv -t UTF-8)")
    if b"\x00" in head[:SNIFF_BYTES]:
        raise BadFile("binary file (contains NUL bytes), not a text document")


def _utf8_error(exc: UnicodeDecodeError, base: int) -> BadFile:
    bad = exc.object[exc.start : exc.start + 1]
    return BadFile(
        f"not valid UTF-8 (byte 0x{bad.hex()} at offset {base + exc.start}); "
        "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)"
    )


def decode(data: bytes) -> str:
    """Decode a whole small file: strict UTF-8 (a BOM is dropped), universal newlines."""
    check_head(data[:SNIFF_BYTES])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _utf8_error(exc, 0) from None
    return normalise_newlines(text)


def normalise_newlines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` become ``\\n`` so the same text hashes the same on every OS."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def validate_stream(path: Path) -> None:
    """Check a large file is UTF-8 text without keeping it in memory (a first, cheap pass)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    offset = 0
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        check_head(head)
        block = head
        while block:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise _utf8_error(exc, offset) from None
            offset += len(block)
            block = handle.read(CHUNK_BYTES)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _utf8_error(exc, offset) from None


def stream_chars(path: Path) -> Iterator[str]:
    """Yield the decoded text of ``path`` in chunks (universal newlines, BOM dropped)."""
    with io.open(path, "r", encoding="utf-8-sig", errors="strict", newline=None) as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            if not chunk:
                return
            yield chunk
