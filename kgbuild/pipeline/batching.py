"""When a batch of new documents is full: at ``batch_size`` documents or ``batch_chars`` characters, whichever first.

A batch is extracted, fused and written together, so what it holds in memory grows with its text (and, inside the
extractor, with the square of each document's mentions). Counting documents alone let a batch of 16 parts of a huge
file hold 160,000 characters; the character bound keeps a build's memory set by its settings, whatever its files
(issue 18, measured by ``benchmarks/large_file_memory.py``). The runner and the Ray engine both group by this rule,
so fusion sees the same batches on either engine.
"""

from __future__ import annotations

from typing import Sequence

from kgbuild.records import Document

DEFAULT_BATCH_CHARS = 40_000


def batch_full(docs: Sequence[Document], batch_size: int, batch_chars: int) -> bool:
    """Whether ``docs`` make a batch: ``batch_size`` of them, or ``batch_chars`` characters of text together."""
    return len(docs) >= batch_size or sum(len(d.text) for d in docs) >= batch_chars
