"""Finding files: directories recursively, globs, missing paths, hidden names and the graph directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.errors import InputError
from kgbuild.ingest import discover


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for name in ("a.txt", "sub/b.md", "sub/deep/c.txt", ".hidden/d.txt", "sub/.e.txt", "kg/ledger.sqlite"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return tmp_path


def test_directories_are_walked_sorted_without_hidden_or_excluded(tree: Path) -> None:
    found = discover([tree], exclude=[tree / "kg"])
    assert [p.relative_to(tree).as_posix() for p in found] == ["a.txt", "sub/b.md", "sub/deep/c.txt"]


def test_globs_expand_recursively_and_files_appear_once(tree: Path) -> None:
    found = discover([f"{tree}/**/*.txt", tree / "a.txt"])
    assert [p.relative_to(tree).as_posix() for p in found] == ["a.txt", "sub/deep/c.txt"]


def test_missing_paths_and_empty_globs_are_usage_errors(tree: Path) -> None:
    with pytest.raises(InputError, match="nope.txt: no such file or directory"):
        discover([tree / "nope.txt"])
    with pytest.raises(InputError, match=r"\*\.pdf: no files match"):
        discover([f"{tree}/*.pdf"])
