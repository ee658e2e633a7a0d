"""The pipeline: stages over batches, a runner with progress and an error policy, a resume ledger, a summary."""

from kgbuild.pipeline.ledger import Ledger
from kgbuild.pipeline.summary import BuildSummary
from kgbuild.pipeline.runner import Runner
from kgbuild.pipeline.stage import Sink, Stage

__all__ = ["BuildSummary", "Ledger", "Runner", "Sink", "Stage"]
