"""Where the tests read annotated data: the full datasets when ``KGBUILD_DATA`` is set, else the small real samples
shipped in ``tests/data/datasets/`` (so a fresh clone with nothing beside it runs the whole suite).

The samples are the first records of each file (see ``tests/data/datasets/README.md``); a test that needs a whole
dataset (its exact size, or every record) is marked ``needs_full_data``: it skips without ``KGBUILD_DATA`` and CI,
which always sets it, fails on any skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent / "data" / "datasets"


def full_data_root() -> Path | None:
    """``$KGBUILD_DATA`` (the folder holding re-docred/, conll04/, ...), or None when unset."""
    root = os.environ.get("KGBUILD_DATA")
    return Path(root) if root else None


def data_root() -> Path:
    """The datasets the tests read: ``$KGBUILD_DATA`` when set, else the shipped samples."""
    return full_data_root() or SAMPLES


def dataset(relative: str) -> Path:
    """``dataset("conll04/conll04_dev.json")``: the file in the full datasets, or its shipped sample."""
    return data_root() / relative


needs_full_data = pytest.mark.skipif(
    full_data_root() is None, reason="needs the full datasets: set KGBUILD_DATA (README: Datasets)"
)
