"""The build summary's table and headline."""

from __future__ import annotations

from rich.console import Console

from kgbuild.ingest import BadInput
from kgbuild.pipeline.summary import BuildSummary, Failure


def test_summary_table_and_headline() -> None:
    summary = BuildSummary(graph="./kg", documents_read=5, processed=3, unchanged=1, tokens=1200, seconds=2.0)
    summary.failed.append(Failure("a.txt", "doc_a", "extract", "ValueError: bad"))
    summary.bad_input.append(BadInput("b.txt", "empty file, nothing to read"))
    summary.add({"mentions": 7, "entities": 4, "relations": 2, "documents": 3})
    console = Console(record=True, width=100)
    summary.print(console)
    text = console.export_text()
    for row in ("documents read", "skipped (unchanged)", "failed", "bad inputs skipped", "mentions written",
                "entities written, per batch", "facts written, per batch", "seconds", "tokens/s"):
        assert row in text
    assert "600" in text  # tokens/s
    assert "counts once per" in text and "after fusion." in text
    assert "failed: a.txt: extract failed: ValueError: bad" in text
    assert summary.headline() == "built 3 documents into ./kg in 2.0s (1 unchanged, 1 failed, 1 bad inputs skipped)"
    assert not summary.nothing_to_do


def test_the_graph_rows_say_they_count_the_whole_graph_and_loading_is_not_in_the_rate() -> None:
    summary = BuildSummary(graph="./kg", processed=2, tokens=1000, seconds=12.0, stage_seconds={"load model": 10.0})
    summary.graph_stats = {"entities": 678, "facts": 90}
    console = Console(record=True, width=120)
    summary.print(console)
    text = console.export_text()
    assert "graph now: entities" in text and "graph now: facts" in text
    assert summary.tokens_per_second == 500.0  # 1000 tokens in the 2 s after the model loaded


def test_nothing_to_do() -> None:
    summary = BuildSummary(graph="./kg", documents_read=4, unchanged=4)
    assert summary.nothing_to_do
    assert "nothing to do: all 4 documents are already in ./kg" in str(summary)
