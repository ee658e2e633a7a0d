"""The Ray engine: segmentation and extraction on a Ray cluster; fusion, the write and the ledger stay on the driver.

Why this shape: extraction is where the time goes (a model pass per window), so it scales out to a pool of Ray
actors, each loading the model once (on its GPU when it has one) and segmenting then extracting whole batches.
Fusion must see the batches in the order the local engine sees them for the graph to be the same, and the graph
store takes one writer best, so the driver consumes the results in document order and hands them to the same
:class:`~kgbuild.pipeline.runner.Runner`, fuser, write step and resume ledger as the local engine.

Back-pressure: at most ``workers * in_flight_per_worker`` batches are out at once; the driver reads the next
documents only when the oldest batch came back, so a corpus larger than the cluster's memory streams through.
A worker process that dies is restarted by Ray and its batch run again (actors are pure: nothing is written twice,
the driver writes). Ray is imported here only, lazily: ``import kgbuild`` never pulls it in.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from kgbuild.errors import KgbuildError
from kgbuild.ingest.base import BadInput
from kgbuild.pipeline.batching import DEFAULT_BATCH_CHARS, batch_full
from kgbuild.pipeline.ledger import Ledger
from kgbuild.records import Document
from kgbuild.schema.models import Schema

ACTOR_NAME = "ExtractionWorker"  # a worker process is titled ray::ExtractionWorker (tests find it by that)


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide: ``address`` None starts a private Ray on this machine, ``auto`` joins the local cluster."""

    address: str | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    in_flight_per_worker: int = 2
    max_restarts: int = 3  # a worker killed more often than this fails the build (resumable)
    startup_timeout_s: float = 600.0


@dataclass(frozen=True)
class RemoteFailure:
    """A document a worker could not segment or extract: the stage's name and the one-line reason."""

    stage: str
    reason: str


class RemoteStageError(Exception):
    """Raised on the driver for a document that failed on a worker (the runner records it like a local failure)."""

    def __init__(self, failure: RemoteFailure) -> None:
        super().__init__(failure.reason)
        self.stage = failure.stage


class ExtractionWorker:
    """The actor: the model and spaCy loaded once; ``process`` segments and extracts one batch, like the local stages.

    A batch that fails is retried document by document here, so one bad document costs one failure record,
    exactly as the local runner isolates it.
    """

    def __init__(self, model: str, device: str, batch_size: int, schema: Schema | None,
                 min_confidence: float | None = None) -> None:
        import os

        from kgbuild.extract.engine import Extractor
        from kgbuild.segment.segment import Segmenter

        self.extractor = Extractor.load(model, device=device, batch_size=batch_size, schema=schema,
                                        min_confidence=min_confidence)
        self.segmenter = Segmenter(max_tokens=self.extractor.max_tokens, count_tokens=self.extractor.count_tokens)
        self.pid = os.getpid()

    def describe(self) -> dict[str, Any]:
        """What the driver keys the ledger and fuses with: the schema and both fingerprints."""
        return {
            "schema": self.extractor.schema,
            "model_fp": f"{self.extractor.fingerprint}|{self.segmenter.fingerprint}",
            "device": str(self.extractor.device),
            "pid": self.pid,
        }

    def process(self, docs: list[Document]) -> list[Any]:
        """``ExtractedDocument`` per document, or a :class:`RemoteFailure` for one that failed; same order."""
        try:
            return self._run(docs)
        except Exception:  # noqa: BLE001 - isolate the bad document(s) below
            if len(docs) == 1:
                return [self._failure(docs[0])]
        out: list[Any] = []
        for doc in docs:
            try:
                out.extend(self._run([doc]))
            except Exception:  # noqa: BLE001
                out.append(self._failure(doc))
        return out

    def _run(self, docs: list[Document]) -> list[Any]:
        self._stage = self.segmenter.name
        segmented = self.segmenter(docs)
        self._stage = self.extractor.name
        return self.extractor(segmented)

    def _failure(self, doc: Document) -> RemoteFailure:
        import sys

        from kgbuild.pipeline.runner import one_line

        exc = sys.exc_info()[1]
        return RemoteFailure(getattr(self, "_stage", "extract"), one_line(exc) if exc else "failed")


class RemoteResults:
    """The runner's one stage under this engine: the workers' output for each document of the batch."""

    name = "ray"

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}

    def __call__(self, docs: list[Document]) -> list[Any]:
        from kgbuild.pipeline.runner import StageError

        out = [self.results[doc.id] for doc in docs]
        for result in out:
            if isinstance(result, RemoteFailure):  # the runner retries one by one and records the failing one
                raise StageError(result.stage, RemoteStageError(result))
        return out


class RayEngine:
    """A pool of extraction actors on a Ray cluster, fed in order with bounded in-flight batches."""

    def __init__(self, model: str | Path, schema: Schema | None, device: str, batch_size: int, options: RayOptions,
                 min_confidence: float | None = None, expected_fingerprint: str | None = None,
                 batch_chars: int = DEFAULT_BATCH_CHARS) -> None:
        """Start ``options.workers`` actors and wait until each has loaded the model.

        ``expected_fingerprint`` is the driver's own view of the model (``DeferredExtractor.fingerprint``): workers
        that load something else (another model version at the same path on some node) stop the build.
        """
        if options.workers < 1:
            raise KgbuildError(f"--workers must be at least 1 (got {options.workers})")
        try:
            import ray
        except ImportError:
            raise KgbuildError("--engine ray needs Ray: pip install 'kgbuild[ray]'") from None
        self._ray = ray
        self.options = options
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.stage = RemoteResults()
        self.wait_seconds = 0.0  # the driver idle for the workers: near 0 means the driver (fusion, write) is the limit
        self._started_ray = False
        if not ray.is_initialized():
            try:
                ray.init(address=options.address, namespace="kgbuild", log_to_driver=False, include_dashboard=False,
                         configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = options.address or "a private Ray on this machine"
                raise KgbuildError(f"cannot connect to the Ray cluster at {where}: {str(exc).strip().splitlines()[0]}") from None
            self._started_ray = True
        try:
            self._check_resources()
            model_ref = str(Path(model).resolve()) if Path(model).exists() else str(model)  # a shared path for every node
            actor = ray.remote(
                num_cpus=options.cpus_per_worker,
                num_gpus=options.gpus_per_worker,
                max_restarts=options.max_restarts,
                max_task_retries=options.max_restarts,
            )(ExtractionWorker)
            # device "auto" picks the worker's own GPU: Ray hides GPUs from a worker given none (CUDA_VISIBLE_DEVICES)
            self.actors = [actor.remote(model_ref, device, batch_size, schema, min_confidence) for _ in range(options.workers)]
            info = ray.get([a.describe.remote() for a in self.actors], timeout=options.startup_timeout_s)
            seen = {i["model_fp"] for i in info}
            if len(seen) > 1 or (expected_fingerprint and not info[0]["model_fp"].startswith(f"{expected_fingerprint}|")):
                raise KgbuildError(
                    f"the Ray workers load another model than this driver sees at {model_ref} ({sorted(seen)[0]} vs "
                    f"{expected_fingerprint}); every node needs the same model directory"
                )
        except BaseException:
            self.close()
            raise
        self.schema: Schema = info[0]["schema"]
        self.model_fp: str = info[0]["model_fp"]
        self.worker_devices = [i["device"] for i in info]
        self.in_flight = [0] * options.workers

    def _check_resources(self) -> None:
        total = self._ray.cluster_resources()
        need = {"CPU": self.options.cpus_per_worker * self.options.workers, "GPU": self.options.gpus_per_worker * self.options.workers}
        for kind, amount in need.items():
            if amount > total.get(kind, 0) + 1e-9:
                raise KgbuildError(
                    f"the Ray cluster has {total.get(kind, 0):g} {kind}s; {self.options.workers} workers need {amount:g} "
                    "(lower --workers or --gpus-per-worker, or add nodes)"
                )

    def stream(self, items: Iterable[Document | BadInput], ledger: Ledger, schema_fp: str, model_fp: str) -> Iterator[Document | BadInput]:
        """``items`` again, in the same order, each document yielded only once its worker output is in ``self.stage``.

        Documents are grouped exactly as the runner groups them (``batch_size`` new documents or ``batch_chars``
        characters, :func:`~kgbuild.pipeline.batching.batch_full`; duplicates and bad
        inputs between them), so each worker call is one runner batch and fusion sees the local engine's batches.
        Documents the ledger has are never sent.
        """
        ray = self._ray
        limit = self.options.workers * self.options.in_flight_per_worker
        queue: collections.deque[tuple[list[Document | BadInput], list[Document], Any, int]] = collections.deque()
        seen: set[str] = set()
        group: list[Document | BadInput] = []
        fresh: list[Document] = []
        source = iter(items)
        exhausted = False
        previous: list[Document] = []

        def submit() -> None:
            nonlocal group, fresh
            done = ledger.done((d.id for d in fresh), schema_fp, model_fp) if fresh else set()
            todo = [d for d in fresh if d.id not in done]  # never send what the graph already has
            ref, worker = None, -1
            if todo:
                worker = min(range(len(self.actors)), key=self.in_flight.__getitem__)
                ref = self.actors[worker].process.remote(todo)
                self.in_flight[worker] += 1
            queue.append((group, todo, ref, worker))
            group, fresh = [], []

        while True:
            while not exhausted and len(queue) < limit:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    if group:
                        submit()
                    break
                group.append(item)
                if isinstance(item, Document) and item.id not in seen:
                    seen.add(item.id)
                    fresh.append(item)
                    if batch_full(fresh, self.batch_size, self.batch_chars):
                        submit()
            if not queue:
                return
            items_out, todo, ref, worker = queue.popleft()
            if ref is not None:
                try:
                    started = time.perf_counter()
                    results = ray.get(ref)
                    self.wait_seconds += time.perf_counter() - started
                except ray.exceptions.RayError as exc:
                    raise KgbuildError(
                        f"a Ray worker failed {self.options.max_restarts + 1} times on a batch of {len(todo)} documents "
                        f"(first: {todo[0].source}): {str(exc).strip().splitlines()[0]}; documents committed so far are kept, "
                        "run the same command again to resume"
                    ) from None
                self.in_flight[worker] -= 1
                self.stage.results.update({doc.id: result for doc, result in zip(todo, results)})
            for doc in previous:  # the runner wrote the previous batch before asking for this one
                self.stage.results.pop(doc.id, None)
            previous = todo
            yield from items_out
    def close(self) -> None:
        """Release the actors (and the private Ray this engine started)."""
        for actor in getattr(self, "actors", []):
            try:
                self._ray.kill(actor)
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass
        self.actors = []
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> "RayEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
