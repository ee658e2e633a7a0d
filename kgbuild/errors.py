"""Every user-facing error kgbuild raises: one line naming the file or item, the problem and the fix."""

from __future__ import annotations


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
