"""The build: ingest -> segment -> extract (per document) -> fuse -> write (per batch), behind the resume ledger.

This is where the stages are wired; :func:`kgbuild.api.build` and ``kgbuild build`` call it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console

from kgbuild import timing
from kgbuild.errors import InputError
from kgbuild.graph import check_graph_uri, open_graph
from kgbuild.graph.store import GraphStore
from kgbuild.graph.writer import WriteStage
from kgbuild.ingest import IngestOptions, discover, estimate_documents, read_entries
from kgbuild.ingest.base import DEFAULT_PART_CHARS
from kgbuild.ingest.base import MB
from kgbuild.pipeline.batching import DEFAULT_BATCH_CHARS
from kgbuild.pipeline.ledger import Ledger, is_remote
from kgbuild.pipeline.memory import map_large_blocks_apart
from kgbuild.pipeline.runner import Runner
from kgbuild.pipeline.summary import BuildSummary
from kgbuild.schema.load import load_schema
from kgbuild.schema.models import Schema

ENGINES = ("local", "ray")


def build(
    paths: str | Path | Sequence[str | Path],
    schema: Schema | str | Path | None = None,
    model: str | Path = "default",
    graph: str | Path = "./kg",
    batch_size: int = 16,
    device: str = "auto",
    strict: bool = False,
    max_file_mb: float = 100,
    jsonl_text_field: str = "text",
    jsonl_id_field: str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    show_progress: bool = True,
    console: Console | None = None,
    min_confidence: float | None = None,
    part_chars: int = DEFAULT_PART_CHARS,
    batch_chars: int = DEFAULT_BATCH_CHARS,
    engine: str = "local",
    ray_address: str | None = None,
    workers: int = 1,
    gpus_per_worker: float = 0.0,
    threads: int | None = None,
    fusion_embeddings: str = "auto",
) -> BuildSummary:
    """Build (or update) the graph at ``graph`` from files, folders and globs in ``paths``.

    ``schema`` (a :class:`Schema` or a YAML path) defaults to the one the model was trained with;
    ``model`` is a bundled model name, a model directory or a hub id. Documents already in the graph
    with the same content, schema and model are skipped, so an interrupted build resumes and a
    re-run is a no-op. Bad input files are named, skipped and counted (``strict``: fatal). A document longer
    than ``part_chars`` characters is built as parts of that size, each committed alone (memory and resume). A batch
    (extracted, fused and written together) closes at ``batch_size`` new documents or ``batch_chars`` characters, whichever
    comes first: with ``part_chars`` these bound the build's memory, whatever the size of its files (docs/reliability.md).
    ``min_confidence`` keeps only entities and facts whose calibrated score reaches it (default: the model's own
    threshold from its calibration.json, else everything; 0 keeps everything).

    ``engine="ray"`` segments and extracts on a Ray cluster (``ray_address``: ``auto``, ``HOST:PORT``, or None
    for a private Ray on this machine) with ``workers`` actors of ``gpus_per_worker`` GPUs each; fusion, the
    write and the ledger stay here, so the graph is the one the local engine builds (docs/scale.md).

    ``threads``: torch's CPU threads for the model and fusion's embedder (default: every core; see
    :func:`kgbuild.extract.engine.cpu_threads`). The graph does not depend on it beyond float rounding.

    ``fusion_embeddings``: where fusion's mention vectors come from: ``extractor`` (pooled from the extractor's own
    encoder states, with the model's ``fusion_states.json``; no second pass), ``sentence-transformers`` (a second
    encoder pass over names and sentences) or ``auto`` (the default: ``extractor`` when the model ships that file, as
    the default model does). docs/fusion.md compares them. The source is part of the build's fingerprint: the
    graph's entity vectors live in one space, so switching it rebuilds every document, as a new model does.
    """
    if threads is not None and threads < 1:
        raise InputError(f"threads must be at least 1, got {threads}")
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    from kgbuild.fusion.embed import SOURCES, resolve_source

    if fusion_embeddings not in SOURCES:
        raise InputError(f"unknown fusion embeddings {fusion_embeddings!r}: use one of {', '.join(SOURCES)}")
    console = console or Console(stderr=True)
    map_large_blocks_apart()  # before the model loads: big tensors never fragment the heap (pipeline/memory.py)
    options = IngestOptions(
        max_file_bytes=max(1, int(max_file_mb * MB)),
        part_chars=part_chars,
        jsonl_text_field=jsonl_text_field,
        jsonl_id_field=jsonl_id_field,
        strict=strict,
    )
    if isinstance(paths, (str, Path)):
        paths = [paths]
    check_graph_uri(graph)  # before anything is read or created: foo://bar is an error, not a directory
    exclude = [] if is_remote(str(graph)) else [graph]
    entries = discover(paths, exclude=exclude)  # a missing path fails here, before any model loads
    if isinstance(schema, (str, Path)):
        schema = load_schema(schema)

    from kgbuild.extract.deferred import DeferredExtractor
    from kgbuild.segment.segment import Segmenter

    # Model name, manifest and schema fit are checked from the model directory, and the store is opened, before
    # the weights load; they load on the first batch with something to extract (a re-run with nothing to do: never).
    requested_schema = schema
    extractor = DeferredExtractor(model, device=device, batch_size=batch_size, schema=schema,
                                  min_confidence=min_confidence, threads=threads)
    schema = extractor.schema
    fusion_embeddings = resolve_source(fusion_embeddings, extractor.path)
    if fusion_embeddings == "extractor":
        from kgbuild.fusion.embed import states_config

        states_config(extractor.path)  # the model's settings for its own states: checked before anything is written
    store = open_graph(graph, user=user, password=password, database=database)
    store.open()
    with contextlib.closing(store), store.build_lock(), Ledger.for_graph(graph, database) as ledger, \
            contextlib.ExitStack() as stack:
        items = read_entries(entries, options)
        if engine == "ray":
            from kgbuild.pipeline.ray_engine import RayEngine, RayOptions

            with console.status("starting the Ray workers (each loads the model and the spaCy pipeline)"):
                ray_engine = stack.enter_context(RayEngine(
                    model, requested_schema, device, batch_size, RayOptions(ray_address, workers, gpus_per_worker),
                    min_confidence=min_confidence, expected_fingerprint=extractor.fingerprint, batch_chars=batch_chars,
                ))
            model_fp = f"{ray_engine.model_fp}|fuse:{fusion_embeddings}"
            stages: list[Any] = [ray_engine.stage]  # per document, on the cluster: segment then extract
            items = ray_engine.stream(items, ledger, schema.fingerprint(), model_fp)
        else:
            segmenter = Segmenter(max_tokens=extractor.max_tokens, count_tokens=extractor.count_tokens)
            model_fp = f"{extractor.fingerprint}|{segmenter.fingerprint}|fuse:{fusion_embeddings}"
            # per document: (the weights, on the first batch with work) text -> sentences and windows -> mentions,
            # clusters, relations
            stages = [_LoadModel(extractor), segmenter, extractor]
        store.ensure_schema(schema)
        _forget_if_graph_was_emptied(ledger, store, graph, console)
        fuser = _FirstCall("fuse", lambda: _fuser(schema, store, extractor, fusion_embeddings))  # made on first use
        runner = Runner(
            stages,
            [fuser, WriteStage(store)],  # per batch: canonical entities and facts -> the graph
            ledger=ledger,
            schema_fp=schema.fingerprint(),
            model_fp=model_fp,
            batch_size=batch_size,
            batch_chars=batch_chars,
            strict=strict,
            console=console,
            show_progress=show_progress,
            retire=lambda doc_ids: [store.delete_document(doc_id) for doc_id in doc_ids],
        )
        summary = BuildSummary(graph=str(graph))
        timing.take()  # sections count from here
        runner.run(items, total=estimate_documents(entries, options), summary=summary)
        if engine == "ray":
            summary.stage_seconds["waiting for workers"] = ray_engine.wait_seconds
        summary.section_seconds = timing.take()
        fused = fuser.step
        summary.dropped = dict(fused.dropped) if fused is not None else {}
        if engine != "ray":  # Ray's workers hold their own extractors
            summary.dropped.update(extractor.threshold_report())
        summary.graph_stats = dict(store.stats())
        summary.write_retries = getattr(store, "retries", None)  # the Neo4j writer's; the embedded store has none
    return summary


def _fuser(schema: Schema, store: GraphStore, extractor: Any, source: str) -> Any:
    """The fusion stage with its embedding source: the extractor's states (settings fitted for them, shipped in the
    model directory) or a sentence encoder on the device the model runs on (on Ray: the driver's)."""
    from kgbuild.fusion.embed import ExtractorStates, states_config
    from kgbuild.fusion.fuser import Fuser

    if source == "extractor":
        from kgbuild.fusion.config import FusionConfig

        config = FusionConfig.load(states_config(extractor.path))
        return Fuser(schema, store, model=ExtractorStates.for_config(config), thresholds=config)
    return Fuser(schema, store, device=extractor.device)


class _LoadModel:
    """A pass-through first stage that loads the model's weights on the first batch with work (its time is shown
    as the build's "load model" seconds); a model that fails to load stops the build (ModelError)."""

    name = "load model"

    def __init__(self, extractor: Any) -> None:
        self.extractor = extractor

    def __call__(self, docs: list[Any]) -> list[Any]:
        self.extractor.load()
        return docs


class _FirstCall:
    """A sink step made on its first call: fusion's imports and the device check (torch) cost seconds that a
    rebuild with nothing to do never needs."""

    def __init__(self, name: str, make: Any) -> None:
        self.name = name
        self.make = make
        self.step: Any = None

    def __call__(self, batch: Any) -> Any:
        if self.step is None:
            self.step = self.make()
        return self.step(batch)


def _forget_if_graph_was_emptied(ledger: Ledger, store: GraphStore, graph: str | Path, console: Console) -> None:
    """A ledger that lists documents for a graph now empty (dropped database) would skip them all."""
    done = ledger.counts().get("done", 0)
    if done and not store.stats().get("documents", 0):
        console.print(f"the graph {graph} is empty but its ledger lists {done} documents: building them again", soft_wrap=True)
        ledger.reset()
