"""A generated corpus of hostile inputs mixed with good documents, for tests/test_hostile.py and
benchmarks/hostile_corpus.py.

Every bad input is one of the kinds that once crashed or misreported a build (issue 18) or that kgbuild must
name and skip: empty, blank, binary, Latin-1, UTF-16, a broken BOM, unsupported types, broken PDF and HTML,
over-size files, JSONL lines that are malformed, nested 100k deep, hold a lone surrogate, are not objects or lack
their text, symlink loops, and names holding a newline, a carriage return or an ESC sequence. Good documents
include the hostile-but-valid ones: a NUL after the binary sniff window, ``\\u0000`` in JSONL, a 10,000-deep
HTML page with text, a good file whose name holds a newline.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

SENTENCES = (
    "Ada Lovelace worked with Charles Babbage in London.",
    "Alan Turing was born in London and worked in Manchester.",
    "Marie Curie lived in Paris and worked at the University of Paris.",
    "Grace Hopper worked for the United States Navy in Arlington.",
    "Tim Berners-Lee worked at CERN in Geneva.",
    "Claude Shannon worked at Bell Labs in New Jersey.",
    "Emmy Noether taught at the University of Göttingen.",
    "John von Neumann worked at Princeton in New Jersey.",
)
MAX_FILE_MB = 0.2  # the build's --max-file-mb: the over-size files are just above it


@dataclass
class Corpus:
    """Where the files are, which sources are bad (as the build names them) and which good documents to expect."""

    root: Path
    bad: list[str] = field(default_factory=list)  # sources (path or path:line) that must be skipped, one line each
    good: list[str] = field(default_factory=list)  # sources of documents that must be in the graph
    good_texts: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes of each good file


def _write(corpus: Corpus, rel: str, data: bytes, good: bool, sources: list[str] | None = None) -> Path:
    path = corpus.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    target = corpus.good if good else corpus.bad
    target.extend(sources if sources is not None else [str(path)])
    if good:
        corpus.good_texts[rel] = data
    return path


def make_corpus(root: Path, per_kind: int = 16) -> Corpus:
    """Write the corpus under ``root``: ``per_kind`` files of each bad kind (at least 200 bad inputs in all for
    the default) and a handful of good documents, one or two sentences each so a tiny model builds them fast."""
    corpus = Corpus(root)
    root.mkdir(parents=True, exist_ok=True)
    text = lambda i: SENTENCES[i % len(SENTENCES)]  # noqa: E731
    over = int(MAX_FILE_MB * 1024 * 1024) + 10
    for i in range(per_kind):
        d = f"bad/{i:02d}"
        _write(corpus, f"{d}/empty.txt", b"", False)
        _write(corpus, f"{d}/blank.md", b"  \n\t\n" * (i + 1), False)
        _write(corpus, f"{d}/binary.txt", b"PK\x03\x04\x00\x00" + os.urandom(64 + i), False)
        _write(corpus, f"{d}/latin1.txt", f"Caf{i} ".encode() + "é à ü".encode("latin-1"), False)
        _write(corpus, f"{d}/utf16.txt", text(i).encode("utf-16"), False)
        _write(corpus, f"{d}/badbom.txt", b"\xff\xfe\xfd text " + str(i).encode(), False)
        _write(corpus, f"{d}/sheet{i}.xlsx", b"PK\x03\x04 not read", False)
        _write(corpus, f"{d}/broken.pdf", b"%PDF-1.4\n" + b"garbage " * (i + 1), False)
        _write(corpus, f"{d}/nothing.html", b"<html><head><script>var x = 1;</script></head><body> </body></html>", False)
        _write(corpus, f"{d}/huge.txt", (text(i) + " ").encode() * (over // 40 + 1), False)
        lines = [
            b'{"text": "unterminated',
            b"[" * 100_000 + b"]" * 100_000,
            b'{"text": "lone \\ud800 surrogate"}',
            b'["a list", "not an object"]',
            b'{"body": "no text field"}',
            b'{"text": "   "}',
        ]
        path = corpus.root / f"{d}/lines.jsonl"
        _write(corpus, f"{d}/lines.jsonl", b"\n".join(lines) + b"\n", False, [f"{path}:{n}" for n in range(1, len(lines) + 1)])
        loop = corpus.root / d / "loop"
        loop.mkdir(parents=True, exist_ok=True)
        os.symlink("b.txt", loop / "a.txt")
        os.symlink("a.txt", loop / "b.txt")
        corpus.bad.extend([str(loop / "a.txt"), str(loop / "b.txt")])
        for name in (f"new\nline{i}.txt", f"carriage\rreturn{i}.txt", f"esc\x1b[31mred{i}.txt"):
            _write(corpus, f"{d}/{name}", b"", False)
    # Good documents, hostile but valid.
    for i, sentence in enumerate(SENTENCES[:4]):
        _write(corpus, f"good/plain{i}.txt", sentence.encode() + b"\n", True)
    late_nul = b" " * 8300 + b"\x00 " + SENTENCES[4].encode() + b"\n"  # a NUL after the 8 KiB binary sniff
    _write(corpus, "good/late-nul.txt", late_nul, True)
    deep = b"<html><body>" + b"<div>" * 10_000 + b"<p>" + SENTENCES[5].encode() + b"</p>" + b"</div>" * 10_000 + b"</body></html>"
    _write(corpus, "good/deep.html", deep, True)
    path = corpus.root / "good/records.jsonl"
    records = [{"text": SENTENCES[6] + " \u0000 end."}, {"text": SENTENCES[7]}]
    _write(corpus, "good/records.jsonl", "\n".join(json.dumps(r) for r in records).encode() + b"\n", True, [f"{path}:1", f"{path}:2"])
    _write(corpus, "good/odd\nname.txt", SENTENCES[0].encode() + b" Again.\n", True)
    return corpus


def copy_good(corpus: Corpus, root: Path) -> Path:
    """The good files alone, under the same relative names (the reference build)."""
    for rel, data in corpus.good_texts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
