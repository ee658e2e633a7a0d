"""Every user-facing error kgbuild raises: one line naming the file or item, the problem and the fix."""

from __future__ import annotations

import errno


def printable(text: str) -> str:
    """``text`` for one terminal line: newlines, CR, ESC and other unprintable characters (and lone
    surrogates from undecodable file names) escaped as ``repr`` does, everything else as is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def os_error_line(exc: OSError, action: str = "") -> str:
    """One line for an OSError, naming the disk problem and the file (``disk full while writing ...``)."""
    where = f" {printable(str(exc.filename))}" if exc.filename else ""
    doing = f" while {action}" if action else ""
    if exc.errno == errno.ENOSPC:
        return f"disk full{doing or ' while writing'}{where}: free some space and run the same command again (it resumes)"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded{doing or ' while writing'}{where}: free some space and run the same command again"
    if exc.errno == errno.EROFS:
        return f"read-only file system{doing}:{where}; use a writable location"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{doing}:{where}"
    return f"{exc.strerror or exc}{doing}:{where}"


class KgbuildError(Exception):
    """Base class: the message is shown to the user as is, on one line."""


class SchemaError(KgbuildError):
    """A schema file is malformed: the message names the file, the line and the problem."""


class InputError(KgbuildError):
    """An input document cannot be read (empty, binary, invalid UTF-8, too large, malformed)."""


class ModelError(KgbuildError):
    """A model directory is missing, broken or does not match the schema."""


class StoreError(KgbuildError):
    """The graph store failed or went away; what was committed before stays committed."""


class QueryError(KgbuildError):
    """A Cypher query was refused (a write without --write, a label not in the schema)."""
