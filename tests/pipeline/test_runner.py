"""The runner over real files and the real spaCy segmenter: batches, resume, isolation of bad documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.errors import KgbuildError
from kgbuild.ingest import read_inputs
from kgbuild.pipeline import BuildSummary, Ledger, Runner
from kgbuild.records import SegmentedDocument
from kgbuild.segment import Segmenter
from tests.fixtures.pipeline import MIXED_BAD, MIXED_GOOD_JSONL_LINES, MIXED_GOOD_SOURCES

GOOD = len(MIXED_GOOD_SOURCES) + len(MIXED_GOOD_JSONL_LINES)


class RefuseText:
    """A test stage that raises on documents containing a word: a bad document in a good batch."""

    name = "refuse"

    def __init__(self, word: str) -> None:
        self.word = word

    def __call__(self, batch: list[SegmentedDocument]) -> list[SegmentedDocument]:
        for seg in batch:
            if self.word in seg.document.text:
                raise ValueError(f"cannot handle {self.word!r}")
        return batch


def _run(folder: Path, ledger: Ledger | None, *stages, **kwargs) -> BuildSummary:  # type: ignore[no-untyped-def]
    runner = Runner([Segmenter(), *stages], ledger=ledger, schema_fp="s", model_fp="m", show_progress=False, **kwargs)
    return runner.run(read_inputs([folder]))


def test_a_build_then_a_rebuild_that_does_nothing(mixed_dir: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = _run(mixed_dir, ledger, batch_size=3)
    assert (first.documents_read, first.processed, first.unchanged, len(first.failed)) == (GOOD, GOOD, 0, 0)
    assert len(first.bad_input) == len(MIXED_BAD)
    assert first.tokens > 100 and first.tokens_per_second > 0 and not first.nothing_to_do
    second = _run(mixed_dir, ledger, batch_size=3)
    assert (second.processed, second.unchanged) == (0, GOOD)
    assert second.nothing_to_do and second.headline().startswith(f"nothing to do: all {GOOD} documents")
    (mixed_dir / "new.txt").write_text("Bern is the capital of Switzerland.")
    (mixed_dir / "curie.txt").write_text("Marie Curie was born in Warsaw.")  # changed content: a new document
    third = _run(mixed_dir, ledger, batch_size=3)
    assert (third.processed, third.unchanged) == (2, GOOD - 1)


def test_a_new_schema_or_model_fingerprint_rebuilds(mixed_dir: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    _run(mixed_dir, ledger)
    runner = Runner([Segmenter()], ledger=ledger, schema_fp="s2", model_fp="m", show_progress=False)
    assert runner.run(read_inputs([mixed_dir])).processed == GOOD


def test_a_failing_document_is_isolated_recorded_and_retried_next_time(mixed_dir: Path, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    summary = _run(mixed_dir, ledger, RefuseText("Grace Hopper"), batch_size=4)
    assert summary.processed == GOOD - 1
    (failure,) = summary.failed
    assert failure.source.endswith("people.jsonl:2") and failure.stage == "refuse"
    assert failure.reason == "ValueError: cannot handle 'Grace Hopper'"
    assert ledger.counts() == {"done": GOOD - 1, "failed": 1}
    again = _run(mixed_dir, ledger, batch_size=4)  # the cause is fixed: only the failed one runs
    assert (again.processed, again.unchanged, again.failed) == (1, GOOD - 1, [])


def test_strict_makes_a_failing_document_fatal(mixed_dir: Path) -> None:
    with pytest.raises(KgbuildError, match=r"people\.jsonl:2: refuse failed: ValueError"):
        _run(mixed_dir, None, RefuseText("Grace Hopper"), strict=True)


def test_many_failures_in_a_row_stop_the_build(mixed_dir: Path) -> None:
    with pytest.raises(KgbuildError, match="stopping: the last 3 documents all failed"):
        _run(mixed_dir, None, RefuseText(" "), max_consecutive_failures=3)


def test_duplicate_texts_are_processed_once(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.md"):
        (tmp_path / name).write_text("Oslo is in Norway.")
    summary = _run(tmp_path, None)
    assert (summary.documents_read, summary.processed, summary.duplicates) == (3, 1, 2)


def test_a_stage_that_breaks_the_batch_contract_is_reported(mixed_dir: Path) -> None:
    class DropsOne:
        name = "drops"

        def __call__(self, batch: list) -> list:  # type: ignore[type-arg]
            return batch[1:]

    summary = _run(mixed_dir, None, DropsOne(), batch_size=100, max_consecutive_failures=100)
    assert summary.processed == 0 and len(summary.failed) == GOOD
    assert all("returned 0 items for a batch of 1" in f.reason for f in summary.failed)


def test_old_versions_of_changed_sources_are_retired_after_a_complete_run(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Oslo is in Norway.")
    (folder / "b.txt").write_text("Bern is in Switzerland.")
    (folder / "c.txt").write_text("Rome is in Italy.")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    retired: list[str] = []
    first = _run(folder, ledger, retire=retired.extend)
    old_a = next(d.id for d in read_inputs([folder / "a.txt"]))
    old_c = next(d.id for d in read_inputs([folder / "c.txt"]))
    assert first.replaced == 0 and not retired
    (folder / "a.txt").write_text("Oslo is the capital of Norway.")  # changed: the old text goes
    (folder / "c.txt").write_text("Bern is in Switzerland.")  # now the same text as b.txt
    second = _run(folder, ledger, retire=retired.extend)
    assert sorted(retired) == sorted([old_a, old_c]) and second.replaced == 2
    assert ledger.done([old_a, old_c], "s", "m") == set()
    assert "2 old versions removed" in second.headline() and not second.nothing_to_do
    third = _run(folder, ledger, retire=retired.extend)
    assert third.nothing_to_do and len(retired) == 2
