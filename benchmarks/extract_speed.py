"""Extract-stage speed: kgbuild's batched extractor against what a careful user without kgbuild would write.

Same documents, same weights, one run. The baseline is per document, as a careful user writes it with transformers:
``pipeline("token-classification")`` with the extractor's own encoder and entity head, then ONE encoder pass whose
states feed the extractor's own relation head for every ordered pair of the found entities at once; no batching
across documents. A second, per-pair row prices what published pair classifiers do (entity markers inserted, one
encoder pass per ordered pair; the bundled head is not trained on markers, so that row is cost only). kgbuild runs one
pass per window with length-bucketed batches across documents (fp32, and dynamic int8 on CPU). spaCy's
en_core_web_sm NER (tok2vec + ner, ``nlp.pipe``) on the same texts is the peer a user would pick for speed: entities
only, no relations. Word tokens are the documents' spaCy tokens. "words/CPU-s" divides by the process's CPU time
(all threads), a figure that other jobs on a shared machine disturb less. The "encoder forward only" row runs nothing
but the encoder over kgbuild's windows: no extractor on this encoder and precision can beat it.

    python benchmarks/extract_speed.py                    # CoNLL04 test sentences with the bundled conll04 model
    python benchmarks/extract_speed.py --data redocred     # Re-DocRED dev_100 documents with the default model
    python benchmarks/extract_speed.py --device cuda       # on a GPU (bf16)
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from kgbuild.extract.engine import Extractor
from kgbuild.records import SegmentedDocument
from kgbuild.resources import data_dir
from kgbuild.datasets import read_annotations, to_segmented

DATA = {
    "conll04": ("conll04", "conll04/conll04_test.json"),
    "redocred": ("default", "re-docred/dev_100.json"),
}


def segment(extractor: Extractor, dataset: str, limit: int | None,
            spacy: bool) -> tuple[list[SegmentedDocument], float, float]:
    """Segmented documents (spaCy, as ``kgbuild build`` does, or the data's own sentences), wall and CPU seconds."""
    docs = read_annotations(data_dir() / DATA[dataset][1], extractor.schema)[:limit]
    if spacy:
        from kgbuild.records import Document
        from kgbuild.segment.segment import Segmenter

        segmenter = Segmenter(max_tokens=extractor.max_tokens, count_tokens=extractor.count_tokens)
        segmenter([Document("warm-up", "Warm up.", "benchmark")])  # loads spaCy outside the timing
        started, cpu = time.perf_counter(), time.process_time()
        segmented = segmenter([Document(d.id, d.text, "benchmark") for d in docs])
    else:
        started, cpu = time.perf_counter(), time.process_time()
        segmented = [to_segmented(d, extractor.count_tokens, extractor.max_tokens) for d in docs]
    return segmented, time.perf_counter() - started, time.process_time() - cpu


def run_kgbuild(extractor: Extractor, docs: list[SegmentedDocument], batch: int) -> tuple[float, float, int]:
    """Wall and CPU seconds for the extract stage over ``docs`` in batches of ``batch`` documents, relations found."""
    extractor([docs[0]])  # warm-up
    if extractor.device.type == "cuda":
        torch.cuda.synchronize()
    started, cpu = time.perf_counter(), time.process_time()
    relations = 0
    for lo in range(0, len(docs), batch):
        relations += sum(len(x.extraction.relations) for x in extractor(docs[lo : lo + batch]))
    if extractor.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, time.process_time() - cpu, relations


def run_encoder_only(extractor: Extractor, docs: list[SegmentedDocument], batch: int) -> tuple[float, float, int]:
    """The encoder's forward passes over the same windows, nothing else: a ceiling for any extractor on this encoder."""
    from kgbuild.extract.features import encode_documents
    from kgbuild.extract.infer import encode_chunks

    model, fast = extractor.model, extractor._fast
    encoded = [encode_documents(fast, [d.document.text for d in docs[lo : lo + batch]],
                                [[(w.start, w.end) for w in d.windows] for d in docs[lo : lo + batch]],
                                model.config.max_len, extractor.tokenizer.cls_token_id, extractor.tokenizer.sep_token_id)
               for lo in range(0, len(docs), batch)]
    encode_chunks(model, encoded[0][:1], extractor.batch_size, extractor.device, extractor.dtype)  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    for encs in encoded:
        encode_chunks(model, encs, extractor.batch_size, extractor.device, extractor.dtype)
    if extractor.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, time.process_time() - cpu, 0


def entity_tagger(extractor: Extractor) -> Any:
    """transformers' token-classification pipeline over the extractor's own encoder and entity head."""
    from transformers import BertConfig, BertForTokenClassification, pipeline

    labels = extractor.model.config.bio_labels
    config = BertConfig(**extractor.model.encoder.config.to_dict())
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}
    model = BertForTokenClassification(config)
    model.bert.load_state_dict(extractor.model.encoder.state_dict(), strict=False)
    model.classifier.load_state_dict(extractor.model.entity_head.state_dict())
    model.eval()
    device = 0 if extractor.device.type == "cuda" else -1
    return pipeline("token-classification", model=model, tokenizer=extractor.tokenizer, device=device,
                    aggregation_strategy="first")


def _encode(model: Any, enc: dict[str, torch.Tensor], text: str, offsets: list[list[int]], device: torch.device) -> torch.Tensor:
    """One encoder pass as the extractor runs it, word shapes included when the model reads them."""
    from kgbuild.extract.features import token_shapes

    shapes = None
    if model.shape_embedding is not None:  # [CLS] and [SEP] have shape 0, as in kgbuild's own chunks
        shapes = torch.tensor([[0, *token_shapes(text, [tuple(o) for o in offsets[1:-1]]), 0]], device=device)
    return model.encode(enc["input_ids"].to(device), enc["attention_mask"].to(device), shapes).float()


def _subword_rows(offsets: list[list[int]], start: int, end: int) -> list[int]:
    """Positions of the subwords overlapping the characters ``[start, end)``."""
    return [i for i, (s, e) in enumerate(offsets) if e > s and s < end and e > start] or [0]


@torch.inference_mode()
def run_per_document(extractor: Extractor, docs: list[SegmentedDocument]) -> tuple[float, float, int]:
    """What a careful user writes with transformers, one document at a time (no batching across documents): the
    token-classification pipeline for entities, then ONE encoder pass whose states feed the same relation head for
    every ordered pair of those entities at once (schema-allowed relation columns only, as kgbuild decodes)."""
    from kgbuild.extract.decode import relation_columns

    tagger = entity_tagger(extractor)
    model, tokenizer, device = extractor.model, extractor.tokenizer, extractor.device
    type_index = {t: i for i, t in enumerate(model.config.entity_types)}
    allowed = torch.from_numpy(relation_columns(extractor._mask)).to(device)
    tagger(docs[0].document.text)  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    relations = 0
    for doc in docs:
        text = doc.document.text
        entities = [e for e in tagger(text) if e["entity_group"] in type_index]
        if len(entities) < 2:
            continue
        enc = tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=512, return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        flat = _encode(model, enc, text, offsets, device)
        spans = [_subword_rows(offsets, e["start"], e["end"]) for e in entities]
        width = max(len(s) for s in spans)
        index = torch.tensor([s + [s[0]] * (width - len(s)) for s in spans], device=device)
        mask = torch.tensor([[i < len(s) for i in range(width)] for s in spans], device=device)
        mentions = model.mention_embeddings(flat, index, mask)
        types = torch.tensor([type_index[e["entity_group"]] for e in entities], device=device)
        pairs = torch.tensor([[[h, t] for h in range(len(entities)) for t in range(len(entities)) if h != t]], device=device)
        context = torch.arange(1, flat.shape[0] - 1, device=device)[None]
        logits = model.relation_logits(flat, mentions, types, context, torch.ones_like(context, dtype=torch.bool),
                                       pairs, torch.ones(pairs.shape[:2], dtype=torch.bool, device=device), allowed)
        relations += int((logits[0, :, 1:] > logits[0, :, :1]).sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, time.process_time() - cpu, relations


@torch.inference_mode()
def run_markers(extractor: Extractor, docs: list[SegmentedDocument]) -> tuple[float, float, int]:
    """A pair classifier as published ones run (typed entity markers, e.g. Zhou and Chen 2021; PURE's relation
    model): entities from the pipeline, then per ordered pair the text with ``@`` around the head and ``#`` around
    the tail, one encoder pass each, the two opening markers' states into the same relation head. That head was not
    trained on marked text, so this row measures cost only; its relation count means nothing."""
    tagger = entity_tagger(extractor)
    model, tokenizer, device = extractor.model, extractor.tokenizer, extractor.device
    type_index = {t: i for i, t in enumerate(model.config.entity_types)}
    tagger(docs[0].document.text)  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    relations = 0
    for doc in docs:
        text = doc.document.text
        entities = [e for e in tagger(text) if e["entity_group"] in type_index]
        for h, head in enumerate(entities):
            for t, tail in enumerate(entities):
                if h == t or not (head["end"] <= tail["start"] or tail["end"] <= head["start"]):
                    continue
                cuts = sorted([(head["start"], " @ "), (head["end"], " @ "), (tail["start"], " # "), (tail["end"], " # ")])
                marked, last, starts = "", 0, {}
                for position, marker in cuts:
                    marked += text[last:position]
                    starts.setdefault(marker, len(marked) + 1)  # the opening marker's character
                    marked += marker
                    last = position
                marked += text[last:]
                enc = tokenizer(marked, return_offsets_mapping=True, truncation=True, max_length=512, return_tensors="pt")
                offsets = enc.pop("offset_mapping")[0].tolist()
                flat = _encode(model, enc, marked, offsets, device)
                rows = [_subword_rows(offsets, starts[m], starts[m] + 1)[0] for m in (" @ ", " # ")]
                mentions = flat[torch.tensor(rows, device=device)]
                types = torch.tensor([type_index[head["entity_group"]], type_index[tail["entity_group"]]], device=device)
                context = torch.arange(1, flat.shape[0] - 1, device=device)[None]
                logits = model.relation_logits(flat, mentions, types, context, torch.ones_like(context, dtype=torch.bool),
                                               torch.tensor([[[0, 1]]], device=device),
                                               torch.ones((1, 1), dtype=torch.bool, device=device))
                relations += int((logits[0, 0, 1:] > logits[0, 0, 0]).sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, time.process_time() - cpu, relations


def run_spacy(docs: list[SegmentedDocument]) -> tuple[float, float, int]:
    """spaCy's en_core_web_sm NER on the same texts, as a user picking it for speed runs it: only tok2vec and ner,
    ``nlp.pipe`` in batches. Entities only (no relations); the count is of entities found."""
    import spacy

    from kgbuild.segment.nlp import PIPELINES

    nlp = None
    for name in PIPELINES:
        try:
            nlp = spacy.load(name, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"])
            break
        except OSError:
            continue
    assert nlp is not None, "en_core_web_sm is not installed"
    texts = [d.document.text for d in docs]
    list(nlp.pipe(texts[:4]))  # warm-up
    started, cpu = time.perf_counter(), time.process_time()
    entities = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=64))
    return time.perf_counter() - started, time.process_time() - cpu, entities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATA), default="conll04")
    parser.add_argument("--model", help="Model directory or bundled name (default: the dataset's bundled model).")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--limit", type=int, default=None, help="Documents for kgbuild (default: all).")
    parser.add_argument("--baseline-docs", type=int, default=None,
                        help="Documents for the per-document baseline (default: 100 for conll04, 20 for redocred).")
    parser.add_argument("--marker-docs", type=int, default=None,
                        help="Documents for the marker pair classifier (default: 50 for conll04, 1 for redocred: one pass per pair).")
    parser.add_argument("--batch", type=int, default=32, help="Documents per extractor call.")
    parser.add_argument("--no-spacy", action="store_true", help="Use the data's sentences instead of spaCy.")
    parser.add_argument("--no-int8", action="store_true", help="Skip the dynamic int8 variant.")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from kgbuild.extract.saved import quiet_transformers

    quiet_transformers()
    console = Console(width=150)
    name = args.model or DATA[args.data][0]
    extractor = Extractor.load(name, device=args.device)
    docs, seg_s, seg_cpu = segment(extractor, args.data, args.limit, not args.no_spacy)
    base_n = args.baseline_docs or (100 if args.data == "conll04" else 20)
    marker_n = args.marker_docs or (50 if args.data == "conll04" else 1)
    words = lambda ds: sum(len(d.tokens) for d in ds)  # noqa: E731
    console.print(f"{len(docs)} documents, {words(docs):,} word tokens, {torch.get_num_threads()} CPU threads, "
                  f"device {extractor.device}; segmentation {seg_s:.2f} s")

    rows: list[tuple[str, int, int, float, float, str]] = []
    per_doc = run_per_document(extractor, docs[:base_n])
    rows.append(("per document: pipeline + 1 encoder pass for all pairs", base_n, words(docs[:base_n]), *per_doc[:2],
                 f"{per_doc[2]} relations"))
    marker = run_markers(extractor, docs[:marker_n])
    rows.append(("per pair: entity markers, 1 pass per pair (cost only)", marker_n, words(docs[:marker_n]), *marker[:2],
                 "n/a"))
    seconds, cpu, found = run_kgbuild(extractor, docs, args.batch)
    rows.append(("kgbuild extract (fp32)" if extractor.device.type == "cpu" else "kgbuild extract (bf16)",
                 len(docs), words(docs), seconds, cpu, f"{found} relations"))
    rows.append(("kgbuild segment + extract", len(docs), words(docs), seconds + seg_s, cpu + seg_cpu, f"{found} relations"))
    enc_s, enc_cpu, _ = run_encoder_only(extractor, docs, args.batch)
    rows.append(("encoder forward only (a ceiling, not an extractor)", len(docs), words(docs), enc_s, enc_cpu, ""))
    if extractor.device.type == "cpu" and not args.no_int8:
        quantized = Extractor.load(name, device="cpu", quantize=True)
        q_seconds, q_cpu, q_found = run_kgbuild(quantized, docs, args.batch)
        rows.append(("kgbuild extract (dynamic int8)", len(docs), words(docs), q_seconds, q_cpu, f"{q_found} relations"))
    sp_s, sp_cpu, sp_found = run_spacy(docs)
    rows.append(("spaCy en_core_web_sm NER (entities only, peer)", len(docs), words(docs), sp_s, sp_cpu,
                 f"{sp_found} entities"))

    base_rate = rows[0][2] / rows[0][3]
    table = Table(title=f"extract speed on {args.data} ({name} model)")
    for column in ("system", "docs", "word tokens", "seconds", "words/s", "docs/s", "x per-doc baseline",
                   "words/CPU-s", "found"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for system, n, tokens, secs, cpu_s, found_text in rows:
        rate = tokens / secs
        table.add_row(system, str(n), f"{tokens:,}", f"{secs:.2f}", f"{rate:,.1f}", f"{n / secs:.2f}",
                      f"{rate / base_rate:.2f}", f"{tokens / max(cpu_s, 1e-9):,.0f}", found_text)
    console.print(table)


if __name__ == "__main__":
    main()
