"""Entity fusion: mentions of documents -> canonical graph entities, within documents, across them and
against the graph; measured by ``kgbuild eval fusion``."""

from kgbuild.fusion.config import FusionConfig, default_config
from kgbuild.fusion.fuser import Fuser

__all__ = ["Fuser", "FusionConfig", "default_config"]
