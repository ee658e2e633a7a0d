"""Ingestion: one reader per format; every document gets a content-hash id; bad files are named and skipped."""

from kgbuild.ingest.base import BadInput, IngestOptions
from kgbuild.ingest.discover import discover
from kgbuild.ingest.reader import estimate_documents, read_entries, read_file, read_inputs

__all__ = ["BadInput", "IngestOptions", "discover", "estimate_documents", "read_entries", "read_file", "read_inputs"]
