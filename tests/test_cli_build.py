"""``kgbuild build`` through the real console entry point: options, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from kgbuild.cli.app import app
from kgbuild.resources import REPO_ROOT

OPTIONS = (
    "--schema", "--model", "--graph", "--batch-size", "--device", "--strict", "--max-file-mb",
    "--jsonl-text-field", "--jsonl-id-field", "--user", "--password", "--database", "--no-progress",
    "--min-confidence", "--threads",
)


def kgbuild(*args: str, cwd: Path = REPO_ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the console entry point (``kgbuild.cli.app:main``) as a user would."""
    code = "from kgbuild.cli.app import main; main()"
    env = {**os.environ, "COLUMNS": "200"}  # typer boxes usage errors at the terminal's width
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env
    )


def test_help_lists_every_option() -> None:
    result = CliRunner().invoke(app, ["build", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in OPTIONS:
        assert option in result.output


def test_help_gives_each_bundled_models_default_min_confidence() -> None:
    import json
    import re

    result = CliRunner().invoke(app, ["build", "--help"], env={"COLUMNS": "200"})
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    for name in ("default", "conll04"):
        shipped = json.loads((REPO_ROOT / "kgbuild" / "models" / name / "calibration.json").read_text())["min_confidence"]
        assert f"{name} {shipped:.2f}" in text
        assert f"{shipped:.2f}" in (REPO_ROOT / "kgbuild" / "models" / name / "MODEL.md").read_text()


def test_a_missing_path_is_a_one_line_error_before_anything_loads(tmp_path: Path) -> None:
    result = kgbuild("build", str(tmp_path / "nope"), "--graph", str(tmp_path / "kg"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope'}: no such file or directory; check the path"
    assert not (tmp_path / "kg").exists()


def test_a_glob_that_matches_nothing_and_a_bad_device_are_refused(tmp_path: Path) -> None:
    result = kgbuild("build", f"{tmp_path}/*.md")
    assert result.returncode == 1 and "no files match this pattern" in result.stderr
    result = kgbuild("build", str(tmp_path), "--device", "tpu")
    assert result.returncode != 0 and "'tpu' is not one of 'auto', 'cpu', 'cuda'" in result.stderr


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    for name, command in getattr(group, "commands", {}).items():
        yield (*prefix, name)
        yield from _commands(command, (*prefix, name))


def test_no_help_page_shows_type_tags_on_flags() -> None:
    """typer's rich help printed ``<bool>`` beside every flag (--strict, --help); kgbuild uses plain help."""
    import typer

    names = list(_commands(typer.main.get_command(app)))
    assert {("build",), ("query",), ("train", "extract"), ("train", "distill"), ("eval", "fusion")} <= set(names)
    for name in [(), *names]:
        result = CliRunner().invoke(app, [*name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (name, result.output)
        assert "--help" in result.output and "<bool>" not in result.output, name
