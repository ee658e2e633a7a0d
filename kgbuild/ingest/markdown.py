"""Markdown markup blanked out, text kept in place.

The extractor should read "Stars and Stripes Forever", not "# Stars and Stripes Forever", yet every character offset
kgbuild stores (mentions, chunks) should still point into the file as written. So markup is replaced by spaces, never
removed: the result has the same length and the same line breaks as the input, and each character is either the
original one or a space. Block markers (headings, quotes, list bullets, fences, rules, setext underlines), emphasis
and code markers, and link and image syntax (the URL included; the link text stays) are blanked.
"""

from __future__ import annotations

import re

_BLOCK = re.compile(
    r"^(?P<marker>[ \t]{0,3}(?:(?:>[ \t]?)+|#{1,6}(?=[ \t]|$)|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))", re.MULTILINE
)
_CLOSING_HASHES = re.compile(r"(?<=[ \t])#+[ \t]*$", re.MULTILINE)
_LINE_ONLY = re.compile(r"^[ \t]*(?:`{3,}.*|~{3,}.*|(?:[-*_][ \t]*){3,}|=+[ \t]*|-+[ \t]*)$", re.MULTILINE)
_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<url>[^)\n]*)\)")
_EMPHASIS = re.compile(r"(?<![\w*_`])(?:\*{1,3}|_{1,3}|`+|~~)(?=\S)|(?<=\S)(?:\*{1,3}|_{1,3}|`+|~~)(?![\w*_`])")


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _link(match: re.Match[str]) -> str:
    """``[text](url)`` -> `` text       ``; images keep their alt text the same way."""
    return " " * (len(match.group("bang")) + 1) + match.group("text") + " " * (len(match.group("url")) + 3)


def markdown_to_text(text: str) -> str:
    """``text`` with Markdown markup replaced by spaces (same length, same line breaks)."""
    text = _LINE_ONLY.sub(_blank, text)
    text = _BLOCK.sub(_blank, text)
    text = _CLOSING_HASHES.sub(_blank, text)
    text = _LINK.sub(_link, text)
    return _EMPHASIS.sub(_blank, text)
