"""The shipped dataset samples (tests/data/datasets/) are real: each is the first records of the full file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.datafiles import SAMPLES, full_data_root, needs_full_data

SAMPLE_FILES = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md")


def test_every_sample_has_its_licence() -> None:
    folders = {Path(name).parts[0] for name in SAMPLE_FILES}
    assert folders == {"re-docred", "conll04"}
    for folder in folders:
        assert any(name.startswith(f"{folder}/LICENSE") for name in SAMPLE_FILES), f"{folder} has no licence file"


@needs_full_data
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_is_a_prefix_of_the_full_dataset(name: str) -> None:
    full, sample = full_data_root() / name, SAMPLES / name
    if name.endswith(".json"):
        records, prefix = json.loads(full.read_text()), json.loads(sample.read_text())
        if isinstance(prefix, list):
            assert prefix and prefix == records[: len(prefix)]
            return
        assert prefix == records
    else:
        assert sample.read_bytes() == full.read_bytes()
