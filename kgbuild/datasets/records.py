"""The record every annotated-data reader yields: text, character-offset mentions, clusters, relations, sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class GoldMention:
    """A typed span with character offsets into the document text; ``label``: the data's own tag for it (PER,
    Peop...), which scoring needs when two schema types share a tag (see kgbuild.evaluation.matching.scoring_types)."""

    start: int
    end: int
    type: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class GoldRelation:
    """A relation between two clusters (indices into ``AnnotatedDocument.clusters``)."""

    head: int
    tail: int
    type: str
    evidence: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AnnotatedDocument:
    """One annotated document; ``clusters`` group mention indices into entities (every mention in one cluster)."""

    id: str
    text: str
    mentions: tuple[GoldMention, ...]
    clusters: tuple[tuple[int, ...], ...]
    relations: tuple[GoldRelation, ...]
    sentences: tuple[tuple[int, int], ...]
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def cluster_type(self, index: int) -> str:
        """The majority type of a cluster's mentions (first seen wins ties), as in DocRED."""
        types = [self.mentions[m].type for m in self.clusters[index]]
        return max(dict.fromkeys(types), key=types.count)
