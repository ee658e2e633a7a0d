"""Turn the user's paths (files, directories, globs) into the list of files to read."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Callable, Iterable

from kgbuild.errors import InputError
from kgbuild.ingest.base import BadInput


def discover(paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[Path | BadInput]:
    """Files in order: each path as given, directories walked recursively (sorted, hidden names
    skipped), globs expanded (``**`` allowed). A path that does not exist is a usage error, raised
    at once; an unreadable directory becomes a :class:`BadInput`. ``exclude`` (e.g. the graph
    directory) is never entered. Each file appears once.
    """
    excluded = {Path(p).resolve() for p in exclude}
    found: list[Path | BadInput] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = _resolve(path)
        if key is None:
            found.append(BadInput(str(path), "symlink loop (or a path that cannot be resolved); not read"))
            return
        if key not in seen and not _inside(key, excluded):
            seen.add(key)
            found.append(path)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(_walk(path, excluded, add))
        elif path.exists() or path.is_symlink():
            add(path)
        elif glob.has_magic(str(raw)):
            matches = sorted(glob.glob(str(raw), recursive=True))
            if not matches:
                raise InputError(f"{raw}: no files match this pattern")
            for match in map(Path, matches):
                if match.is_dir():
                    found.extend(_walk(match, excluded, add))
                else:
                    add(match)
        else:
            raise InputError(f"{raw}: no such file or directory; check the path")
    return found


def _walk(root: Path, excluded: set[Path], add: Callable[[Path], None]) -> list[BadInput]:
    problems: list[BadInput] = []

    def on_error(exc: OSError) -> None:
        problems.append(BadInput(str(exc.filename or root), f"cannot read directory: {exc.strerror or exc}"))

    for directory, dirnames, filenames in os.walk(root, onerror=on_error):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and _resolve(here / d) not in excluded)
        for name in sorted(filenames):
            if not name.startswith("."):
                add(here / name)
    return problems


def _resolve(path: Path) -> Path | None:
    """``path.resolve()``, or None for a symlink loop (RuntimeError before Python 3.13, OSError after)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def _inside(path: Path, excluded: set[Path]) -> bool:
    return any(path == ex or ex in path.parents for ex in excluded)
