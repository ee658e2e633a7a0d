"""The schema: entity and relation types, the contract between user, model and graph."""

from kgbuild.schema.models import EntityType, RelationType, Schema
from kgbuild.schema.load import load_schema

__all__ = ["EntityType", "RelationType", "Schema", "load_schema"]
