"""The extract stage: ``Extractor.load(...)`` then ``extractor(segmented_docs) -> list[ExtractedDocument]``.

Batched fast tokenisation of every window, length-bucketed encoder batches under ``torch.inference_mode``, bf16 on
a GPU that has it (fp16 otherwise), a bounded thread count on CPU, and optional dynamic int8 quantisation of the
encoder's linear layers on CPU (see benchmarks/extract_speed.py for what it buys).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import torch

from kgbuild.extract.calibration import Calibration, keep_confident, kept_threshold, load_calibration, threshold_tag
from kgbuild.extract.decode import allowed_mask, evidence_sentences, relation_columns
from kgbuild.extract.features import backend, encode_documents
from kgbuild.extract.infer import GoldEntities, mention_states, predict, sentence_of
from kgbuild.extract.model import JointExtractor
from kgbuild.extract.saved import load_extractor, model_fingerprint, resolve_model
from kgbuild.records import ExtractedDocument, Extraction, MentionStates, SegmentedDocument
from kgbuild.schema import Schema, load_schema
from kgbuild.timing import section


class Extractor:
    """Stage: ``list[SegmentedDocument] -> list[ExtractedDocument]`` (each document with its extraction), same
    length and order; :meth:`predict_texts` is the same model on plain texts (evaluation)."""

    name = "extract"

    def __init__(self, model: JointExtractor, tokenizer: object, schema: Schema, path: Path | None = None,
                 device: str = "auto", batch_size: int = 16, fingerprint: str = "",
                 calibration: Calibration | None = None, min_confidence: float | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.schema = schema
        self.path = path
        self.batch_size = batch_size
        self.device = _device(device)
        self.dtype = _dtype(self.device)
        self.model.to(self.device).eval()
        self._fast = backend(tokenizer)
        self._mask = allowed_mask(schema, model.config.entity_types, model.config.relation_types)
        self.model.prepared_columns(relation_columns(self._mask))  # the relation head's weight slices, once at load
        self.calibration = calibration or Calibration()
        self.min_confidence = kept_threshold(self.calibration, min_confidence)
        self.fingerprint = f"{fingerprint or 'unsaved'}|{schema.fingerprint()}{threshold_tag(self.min_confidence)}"
        # pooled mention states ride along with each extraction (fusion's extractor embeddings; a few ms per batch)
        self.states = True
        # what calling it left out under min_confidence, for the build summary: a graph with no facts says why
        self.below_threshold = {"facts": 0, "mentions": 0}
        self.highest_left_out = 0.0

    @classmethod
    def load(cls, model: str | Path = "default", device: str = "auto", batch_size: int = 16,
             schema: Schema | str | Path | None = None, threads: int | None = None, quantize: bool = False,
             min_confidence: float | None = None, calibrated: bool = True) -> "Extractor":
        """Load a model directory, bundled name (``default``, ``conll04``) or hub id.

        ``schema`` restricts decoding to another schema with the same types (else a one-line ModelError);
        ``threads``: torch's CPU threads (default :func:`cpu_threads`); ``quantize`` applies dynamic int8 to the encoder on CPU. Scores are calibrated
        by the model's ``calibration.json`` (``calibrated=False``: raw); ``min_confidence`` (default: the model's own)
        is what calling the extractor keeps.
        """
        from transformers import AutoTokenizer

        path = resolve_model(model)
        if isinstance(schema, (str, Path)):
            schema = load_schema(schema)
        network, used_schema, _ = load_extractor(path, schema)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        target = _device(device)
        if target.type == "cpu":
            torch.set_num_threads(cpu_threads(threads))
            if quantize:
                network.encoder = torch.ao.quantization.quantize_dynamic(network.encoder, {torch.nn.Linear}, dtype=torch.qint8)
        calibration = load_calibration(path) if calibrated else Calibration()
        return cls(network, tokenizer, used_schema, path, device, batch_size, model_fingerprint(path), calibration,
                   min_confidence)

    @property
    def max_tokens(self) -> int:
        """Subword tokens a window may hold ([CLS] and [SEP] excluded); the segmenter packs sentences up to it."""
        return self.model.config.max_len - 2

    def count_tokens(self, text: str) -> int:
        """Subword tokens of ``text`` under this model's tokenizer (no special tokens)."""
        return len(self._fast.encode(text, add_special_tokens=False).ids)

    def predict_texts(self, texts: Sequence[str], windows: Sequence[Sequence[tuple[int, int]]],
                      gold: Sequence[GoldEntities] | None = None, doc_ids: Sequence[str] | None = None,
                      sentences: Sequence[Sequence[tuple[int, int]]] | None = None, states: bool = False) -> list[Extraction]:
        """Decode texts given their windows (character spans), scores calibrated and nothing thresholded; with
        ``gold`` entities, relations only. ``sentences`` (character spans) bound a sentence-level model's pairs;
        with ``states``, each mention's pooled encoder states for fusion.

        Relations carry no evidence sentences here (plain texts have none); the stage call adds them."""
        with section("extract: tokenize"):
            encs = encode_documents(self._fast, texts, windows, self.model.config.max_len,
                                    self.tokenizer.cls_token_id, self.tokenizer.sep_token_id)
        predictions = predict(self.model, encs, texts, self._mask, self.batch_size, self.device, self.dtype, gold, doc_ids,
                              sentences, states)
        return [self.calibration.apply(p) for p in predictions]

    def mention_states(self, texts: Sequence[str], windows: Sequence[Sequence[tuple[int, int]]],
                       spans: Sequence[Sequence[tuple[int, int]]]) -> list[MentionStates]:
        """Pooled encoder states of given mention spans (gold mentions: evaluation, fusion calibration)."""
        encs = encode_documents(self._fast, texts, windows, self.model.config.max_len,
                                self.tokenizer.cls_token_id, self.tokenizer.sep_token_id)
        return mention_states(self.model, encs, spans, self.batch_size, self.device, self.dtype)

    def __call__(self, docs: list[SegmentedDocument]) -> list[ExtractedDocument]:
        """Each document with its extraction; mentions carry their pooled encoder states unless ``states`` is off."""
        texts = [d.document.text for d in docs]
        windows = [[(w.start, w.end) for w in d.windows] for d in docs]
        sentences = [[(s.start, s.end) for s in d.sentences] for d in docs]
        predictions = self.predict_texts(texts, windows, doc_ids=[d.document.id for d in docs], sentences=sentences,
                                         states=self.states)
        kept = [keep_confident(p, self.min_confidence) for p in predictions]
        for before, after in zip(predictions, kept):
            self.below_threshold["facts"] += len(before.relations) - len(after.relations)
            self.below_threshold["mentions"] += len(before.mentions) - len(after.mentions)
            below = [r.score for r in before.relations if r.score < self.min_confidence]
            self.highest_left_out = max([self.highest_left_out, *below])
        return [ExtractedDocument(d, with_evidence(d, p)) for d, p in zip(docs, kept)]

    def threshold_report(self) -> dict[str, int]:
        """Summary rows: how many facts and mentions scored below ``min_confidence`` and were left out."""
        if self.min_confidence <= 0:
            return {}
        at = f"--min-confidence {self.min_confidence:g}"
        rows = {f"facts below {at} (best {self.highest_left_out:.2f})": self.below_threshold["facts"],
                f"mentions below {at}": self.below_threshold["mentions"]}
        return {reason: count for reason, count in rows.items() if count}


def with_evidence(doc: SegmentedDocument, extraction: Extraction) -> Extraction:
    """The extraction with each relation's evidence: the sentences that mention both entities (or the nearest two)."""
    starts = [s.start for s in doc.sentences]
    mentions = extraction.mentions

    def sentences_of(cluster: Sequence[int]) -> set[int]:
        return set(sentence_of(starts, [mentions[m].start for m in cluster])) if starts else set()

    relations = tuple(
        replace(r, evidence=evidence_sentences(sentences_of(extraction.clusters[r.head]), sentences_of(extraction.clusters[r.tail])))
        for r in extraction.relations
    )
    return replace(extraction, relations=relations)


def available_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one: a container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def cpu_threads(requested: int | None = None, cores: int | None = None) -> int:
    """Torch's CPU thread count: ``requested`` capped at the cores, else every core this process may use.

    Measured on the 2-core machine (docs/speed.md, `benchmarks/build_speed.py`, 100 Re-DocRED documents): idle, two
    threads build in 35.4 s against 49.8 s for one (the encoder alone 5.4 s against 10.5 s); under a load of 10-14
    from other jobs one thread was faster (a torch thread waiting for a busy core stalls every parallel operation
    at its barrier). A build usually has its machine to itself, so it takes every core; on a busy machine pass
    ``--threads 1``. The relation head's small per-type-pair products run on one thread whatever this says.
    """
    cores = cores or available_cores()
    if requested is not None:
        return max(1, min(int(requested), cores))
    return cores


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _dtype(device: torch.device) -> torch.dtype | None:
    """Autocast dtype: bf16 where the GPU has it, fp16 on older GPUs, full precision on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
