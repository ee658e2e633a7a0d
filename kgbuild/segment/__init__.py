"""Text segmentation: spaCy sentences and tokens with character offsets, encoder windows with overlap."""

from __future__ import annotations

from typing import Any

__all__ = ["Segmenter"]


def __getattr__(name: str) -> Any:
    # Lazy: importing spaCy takes seconds, and ingestion only needs kgbuild.ingest.parts.
    if name == "Segmenter":
        from kgbuild.segment.segment import Segmenter

        return Segmenter
    raise AttributeError(name)
