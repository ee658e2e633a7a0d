"""Store errors that carry more than their one-line message."""

from __future__ import annotations

from kgbuild.errors import StoreError


class StoreUnavailable(StoreError):
    """The database could not be reached or went away mid-write.

    ``committed`` counts the rows of the failed call that were committed before the failure (a lower bound:
    a transaction whose commit reply was lost may also have landed). Rewriting is idempotent, so the
    next run simply writes everything again.
    """

    def __init__(self, message: str, committed: int = 0) -> None:
        super().__init__(message)
        self.committed = committed
