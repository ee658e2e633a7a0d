"""A sink step for builds without extraction: segmented documents become Document and Chunk nodes only."""

from __future__ import annotations

from kgbuild.records import FusedBatch, SegmentedDocument


class ProvenanceOnly:
    """Sink step: ``list[SegmentedDocument] -> FusedBatch`` with no entities or facts, for the write step after it.

    For a graph of provenance only, and for testing the runner against a real store.
    """

    name = "documents"

    def __call__(self, batch: list[SegmentedDocument]) -> FusedBatch:
        return FusedBatch(tuple(batch), (), (), ())
