"""The shipped dataset samples (tests/data/datasets/) are real: each is the first records of the full file, or (a
``.sample`` file) whole stories copied unchanged from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.datafiles import SAMPLES, full_data_root, needs_full_data

SAMPLE_FILES = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md")
# CoNLL-2003 ships no licence file, so its sample carries a note of its terms instead of a copy
COPIED_FILES = [name for name in SAMPLE_FILES if name != "conll2003/LICENSE"]


def test_every_sample_has_its_licence() -> None:
    folders = {Path(name).parts[0] for name in SAMPLE_FILES}
    assert folders == {"re-docred", "conll04", "conll2003", "crossre"}
    for folder in folders:
        assert any(name.startswith(f"{folder}/LICENSE") for name in SAMPLE_FILES), f"{folder} has no licence file"


@needs_full_data
@pytest.mark.parametrize("name", COPIED_FILES)
def test_sample_is_a_prefix_of_the_full_dataset(name: str) -> None:
    full, sample = full_data_root() / name.removesuffix(".sample"), SAMPLES / name
    if name.endswith(".sample"):  # whole stories (blank-line separated blocks) picked from the full file
        text = full.read_text(encoding="utf-8")
        assert all(block in text for block in sample.read_text(encoding="utf-8").split("\n\n") if block.strip())
        return
    if full.read_text(encoding="utf-8").lstrip().startswith("{"):  # JSON lines (CrossRE): the first lines
        lines = sample.read_text(encoding="utf-8").splitlines()
        assert lines and lines == full.read_text(encoding="utf-8").splitlines()[: len(lines)]
        return
    if name.endswith(".json"):
        records, prefix = json.loads(full.read_text()), json.loads(sample.read_text())
        if isinstance(prefix, list):
            assert prefix and prefix == records[: len(prefix)]
            return
        assert prefix == records
    else:
        assert sample.read_bytes() == full.read_bytes()
