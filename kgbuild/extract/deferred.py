"""The extract stage before its weights load: everything a build must check or key on, read from the model directory.

A build validates the model (name, manifest, schema fit) and computes the resume ledger's fingerprint from the
directory alone, so a bad flag fails in a second and a re-run with nothing to do never loads the network; the
weights load on the first batch that needs extracting.
"""

from __future__ import annotations

from pathlib import Path

from kgbuild.extract.calibration import kept_threshold, load_calibration, threshold_tag
from kgbuild.extract.config import ExtractorConfig
from kgbuild.extract.saved import check_schema, model_fingerprint, read_manifest, resolve_model
from kgbuild.records import ExtractedDocument, SegmentedDocument
from kgbuild.schema import Schema, load_schema


class DeferredExtractor:
    """Stage like :class:`~kgbuild.extract.engine.Extractor`; loads it on the first call that needs the network.

    Raises :class:`~kgbuild.errors.ModelError` at once for an unknown model, an unreadable manifest or a schema the
    model was not trained for (its ``schema.yaml`` is read, the weights are not).
    """

    name = "extract"

    def __init__(self, model: str | Path = "default", device: str = "auto", batch_size: int = 16,
                 schema: Schema | str | Path | None = None, min_confidence: float | None = None,
                 threads: int | None = None) -> None:
        self.path = resolve_model(model)
        manifest = read_manifest(self.path)
        self.config = ExtractorConfig.from_dict(manifest["extractor"])
        if isinstance(schema, (str, Path)):
            schema = load_schema(schema)
        if schema is not None:
            check_schema(self.path, self.config, schema)
        self.schema = schema or load_schema(self.path / "schema.yaml")
        self._requested_schema = schema
        self._device = device
        self.batch_size = batch_size
        self._min_confidence = min_confidence
        self._threads = threads
        threshold = kept_threshold(load_calibration(self.path), min_confidence)  # as Extractor.fingerprint
        self.fingerprint = f"{model_fingerprint(self.path)}|{self.schema.fingerprint()}{threshold_tag(threshold)}"
        self._loaded = None

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def max_tokens(self) -> int:
        """As :attr:`Extractor.max_tokens`, from the manifest."""
        return self.config.max_len - 2

    @property
    def device(self) -> str:
        """Where the network runs (or will): ``auto`` resolved without loading it."""
        if self._device != "auto":
            return self._device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def load(self):  # type: ignore[no-untyped-def]
        """The loaded :class:`~kgbuild.extract.engine.Extractor` (loaded once)."""
        if self._loaded is None:
            from kgbuild.extract.engine import Extractor

            self._loaded = Extractor.load(self.path, device=self._device, batch_size=self.batch_size,
                                          schema=self._requested_schema, min_confidence=self._min_confidence,
                                          threads=self._threads)
            assert self._loaded.fingerprint == self.fingerprint, "the deferred fingerprint must equal the loaded one"
        return self._loaded

    def count_tokens(self, text: str) -> int:
        return self.load().count_tokens(text)

    def threshold_report(self) -> dict[str, int]:
        """As :meth:`Extractor.threshold_report`; nothing when the model never loaded (nothing was extracted)."""
        return self._loaded.threshold_report() if self._loaded is not None else {}

    def __call__(self, docs: list[SegmentedDocument]) -> list[ExtractedDocument]:
        return self.load()(docs)
