"""The end-of-build summary: what was read, skipped, failed and written, and how fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from kgbuild.errors import printable
from kgbuild.ingest.base import BadInput


@dataclass(frozen=True, slots=True)
class Failure:
    """A document a stage could not process, with the stage and the reason."""

    source: str
    doc_id: str
    stage: str
    reason: str

    def __str__(self) -> str:
        return printable(f"{self.source}: {self.stage} failed: {self.reason}")


NOTE = (
    "'written, per batch' sums what each batch wrote: an entity or fact that several batches update counts once "
    "per batch; 'graph now' counts the distinct entities and facts the whole graph holds after fusion."
)


@dataclass
class BuildSummary:
    """Counts of one build. ``nothing_to_do`` is true when every document was already in the graph."""

    graph: str = ""
    documents_read: int = 0
    processed: int = 0  # went through every stage and were committed to the graph
    unchanged: int = 0  # already in the graph with the same content, schema and model
    duplicates: int = 0  # the same text a second time in this run
    replaced: int = 0  # old versions of changed sources, removed from the graph
    failed: list[Failure] = field(default_factory=list)
    bad_input: list[BadInput] = field(default_factory=list)
    mentions: int = 0
    entities: int = 0
    relations: int = 0
    tokens: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # time spent in each stage and the sink
    section_seconds: dict[str, float] = field(default_factory=dict)  # finer sections inside the stages (kgbuild.timing)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count (e.g. relations outside the schema)
    graph_stats: dict[str, int] = field(default_factory=dict)
    write_retries: int | None = None  # Neo4j: write transactions retried after a transient error (e.g. a deadlock)

    @property
    def tokens_per_second(self) -> float:
        """Word tokens per second of processing: loading the model (once per build) is not counted."""
        seconds = self.seconds - self.stage_seconds.get("load model", 0.0)
        return self.tokens / seconds if seconds > 0 else 0.0

    @property
    def nothing_to_do(self) -> bool:
        return self.processed == 0 and not self.failed and not self.replaced and self.unchanged > 0

    def add(self, counts: dict[str, int] | None) -> None:
        """Add a sink's counts (unknown keys are ignored: a sink may report more)."""
        for key in ("mentions", "entities", "relations"):
            setattr(self, key, getattr(self, key) + int((counts or {}).get(key, 0)))

    def headline(self) -> str:
        """One line saying what happened, for the end of the output and for logs."""
        if self.nothing_to_do:
            return (
                f"nothing to do: all {self.unchanged} documents are already in {self.graph or 'the graph'} "
                "with the same content, schema and model"
            )
        text = f"built {self.processed} documents into {self.graph or 'the graph'} in {self.seconds:.1f}s"
        extras = []
        if self.unchanged:
            extras.append(f"{self.unchanged} unchanged")
        if self.replaced:
            extras.append(f"{self.replaced} old versions removed")
        if self.failed:
            extras.append(f"{len(self.failed)} failed")
        if self.bad_input:
            extras.append(f"{len(self.bad_input)} bad inputs skipped")
        return text + (f" ({', '.join(extras)})" if extras else "")

    def table(self) -> Table:
        table = Table(title="kgbuild build", show_header=False, title_justify="left")
        table.add_column("what")
        table.add_column("count", justify="right")
        rows = [
            ("documents read", self.documents_read),
            ("  processed", self.processed),
            ("  skipped (unchanged)", self.unchanged),
            ("  skipped (duplicate text)", self.duplicates),
            ("  failed", len(self.failed)),
            ("old versions removed", self.replaced),
            ("bad inputs skipped", len(self.bad_input)),
            ("mentions written", self.mentions),
            ("entities written, per batch", self.entities),
            ("facts written, per batch", self.relations),
            ("word tokens", self.tokens),
            ("seconds", f"{self.seconds:.1f}"),
            *((f"  {name}", f"{seconds:.1f}") for name, seconds in self.stage_seconds.items()),
            *((f"    {name}", f"{seconds:.1f}") for name, seconds in self.section_seconds.items()),
            ("tokens/s (model loading excluded)", f"{self.tokens_per_second:,.0f}"),
        ]
        if self.write_retries is not None:
            rows.append(("write transactions retried (deadlock or other transient error)", self.write_retries))
        rows += [(f"dropped: {reason}", count) for reason, count in sorted(self.dropped.items())]
        rows += [(f"graph now: {name}", value) for name, value in self.graph_stats.items()]
        for name, value in rows:
            table.add_row(name, f"{value:,}" if isinstance(value, int) else value)
        return table

    def print(self, console: Console) -> None:
        """The table, each failed document on its own line, then the headline."""
        console.print(self.table())
        if self.processed:
            console.print(NOTE, markup=False, highlight=False)
        for failure in self.failed:
            console.print(f"failed: {failure}", markup=False, highlight=False, soft_wrap=True)
        console.print(self.headline(), markup=False, highlight=False, soft_wrap=True)

    def __str__(self) -> str:
        parts = [
            self.headline(),
            f"read {self.documents_read}, processed {self.processed}, unchanged {self.unchanged}, "
            f"failed {len(self.failed)}, bad inputs {len(self.bad_input)}",
            f"mentions {self.mentions}, entities {self.entities}, relations {self.relations}, "
            f"{self.tokens} tokens, {self.tokens_per_second:,.0f} tokens/s",
        ]
        return "\n".join(parts)
