"""Named wall-clock sections inside a build's stages (encoder, relation head, fusion's embedding...), added up per
process: finer than the runner's per-stage seconds, cheap enough to stay on. The build's summary reports them and
``benchmarks/build_speed.py`` prints them beside the stages (issue 15)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

_totals: dict[str, float] = {}


@contextmanager
def section(name: str) -> Iterator[None]:
    """Add the wall seconds of the ``with`` body to ``name``'s total."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _totals[name] = _totals.get(name, 0.0) + time.perf_counter() - started


def take() -> dict[str, float]:
    """The totals so far, in the order first seen; the count starts again from zero."""
    out = dict(_totals)
    _totals.clear()
    return out


class Laps:
    """Consecutive sections of straight-line code: each :meth:`mark` closes the section since the previous one."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        _totals[name] = _totals.get(name, 0.0) + now - self._last
        self._last = now
