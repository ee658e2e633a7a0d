"""The two shapes a pipeline step takes: a stage maps a batch document by document, a sink step works on the
whole batch (fuse, write)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Stage(Protocol):
    """A small object with one method: a batch in, a list of the same length and order out.

    Configuration goes in the constructor (no I/O there); the runner owns batching, progress,
    resume and the error policy, so a stage can be called, tested and replaced alone.
    """

    name: str

    def __call__(self, batch: list[Any]) -> list[Any]: ...


@runtime_checkable
class Sink(Protocol):
    """A step over the whole batch after the stages: fusion (documents in, one fused batch out) and the write
    (fused batch in, counts out) are the two the build chains.

    The last step of the chain returns counts to add to the summary (``mentions``, ``entities``, ``relations``...).
    When it returns, the batch is committed; the runner records the documents in the ledger only then. A failure
    of the store itself must be raised as :class:`kgbuild.errors.StoreError`.
    """

    name: str

    def __call__(self, batch: Any) -> Any: ...
