"""Headless Chromium (Debian's ``chromium``) for the report's screenshot tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import os

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> None:
    """Skip without Chromium locally; in CI (``CI=true``, where scripts/test.sh installs it) fail instead."""
    if CHROMIUM is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"the screenshot test cannot run in CI: {message}", pytrace=False)
        pytest.skip(message)


def screenshot(page: Path, shot: Path, profile: Path, settle: bool = True) -> Image.Image:
    """Render ``page`` in headless Chromium at 1280x900 and return the screenshot."""
    require_chromium()
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,900",
    ]
    if settle:
        flags.append("--virtual-time-budget=5000")  # let vis-network's layout timers run before the shot
    result = subprocess.run([str(CHROMIUM), *flags, page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    return Image.open(shot).convert("RGB")


def saturated_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Pixels of clearly coloured ink (entity nodes) inside ``box``."""
    view = np.asarray(image.crop(box)).reshape(-1, 3).astype(int)
    return int(((view.max(axis=1) - view.min(axis=1)) > 60).sum())


GRAPH_VIEW = (80, 270, 1180, 760)  # the graph canvas, below the header and the count cards
