"""Text segmentation: spaCy sentences and tokens with character offsets, encoder windows with overlap."""

from kgbuild.text.segment import Segmenter

__all__ = ["Segmenter"]
