"""Adapters that fit the extractor and the fuser into the runner's stage and sink shapes."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from kgbuild.graph.writer import WriteStage
from kgbuild.records import Extraction, FusedBatch, SegmentedDocument


class ExtractStage:
    """Stage: ``list[SegmentedDocument] -> list[(SegmentedDocument, Extraction)]`` (the fuser's input)."""

    name = "extract"

    def __init__(self, extractor: Callable[[list[SegmentedDocument]], list[Extraction]]) -> None:
        self.extractor = extractor

    def __call__(self, batch: list[SegmentedDocument]) -> list[tuple[SegmentedDocument, Extraction]]:
        extractions = self.extractor(batch)
        if len(extractions) != len(batch):
            raise RuntimeError(f"extractor returned {len(extractions)} extractions for {len(batch)} documents")
        return list(zip(batch, extractions))


class GraphSink:
    """Sink: fuse a batch of extractions (against the graph too) and write the result."""

    name = "fuse+write"

    def __init__(self, fuser: Callable[[list[tuple[SegmentedDocument, Extraction]]], FusedBatch], writer: WriteStage) -> None:
        self.fuser = fuser
        self.writer = writer

    def __call__(self, batch: list[Any]) -> Mapping[str, int]:
        return self.writer(self.fuser(batch))


class DocumentSink:
    """Sink: write segmented documents (Document and Chunk nodes) without extraction.

    For a graph of provenance only, and for testing the runner against a real store.
    """

    name = "write"

    def __init__(self, writer: WriteStage) -> None:
        self.writer = writer

    def __call__(self, batch: list[SegmentedDocument]) -> Mapping[str, int]:
        return self.writer(FusedBatch(tuple(batch), (), (), ()))
