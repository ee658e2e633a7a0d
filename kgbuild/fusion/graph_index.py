"""Entities already in the graph, as fusion candidates for new mentions.

Embedding neighbours come from the store itself (``similar_entity_ids``: Neo4j's vector index, or the
embedded store's own index), every unit of a type in one round trip and as ids: the entities themselves are
already in this index's table. Name neighbours (same normalised name, acronym, first/last word) come from
a name-key table built once per entity type from ``fetch_entities`` and kept current with what this
fuser produced. The table is dropped and rebuilt whenever the store's entity count differs from what
this fuser expects, e.g. after another process wrote or a document was deleted.

The table holds every entity of the types seen so far, so its size grows with the graph: each entity's
embedding is kept as float32 (1.5 KB at 384 dimensions, lossless: fusion makes its embeddings in float32),
not as the record's tuple of Python floats (12 KB), which made a long build's memory grow by about 15 KB per
graph entity; now about 4.5 KB with its names and keys (issue 18; ``tests/fusion/test_graph_index.py``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Iterable, Protocol, Sequence

import numpy as np

from kgbuild import names as N
from kgbuild.records import Entity


class EntitySource(Protocol):
    """What fusion reads from a graph store (every :class:`kgbuild.graph.store.GraphStore` is one); fusion sits
    below the stores and never imports them."""

    def fetch_entities(self, types: Iterable[str] | None = None) -> list[Entity]: ...

    def similar_entity_ids(self, type_name: str, embeddings: list[list[float]], k: int = 10) -> list[list[tuple[str, float]]]: ...

    def stats(self) -> dict[str, int]: ...


class GraphIndex:
    """Finds graph entities of one type near given mentions, by embedding and by name key."""

    def __init__(self, store: EntitySource, neighbours: int, block_cap: int) -> None:
        self.store = store
        self.neighbours = neighbours
        self.block_cap = block_cap
        self._entities: dict[str, dict[str, Entity]] = {}  # type -> id -> entity, without its embedding
        self._vectors: dict[str, dict[str, np.ndarray]] = {}  # type -> id -> float32 embedding
        self._keys: dict[str, dict[str, set[str]]] = {}  # type -> name key -> ids
        self._expected: int | None = None

    def refresh(self) -> None:
        """Forget the name tables if the store changed behind this fuser's back."""
        total = int(self.store.stats().get("entities", 0))
        if total != self._expected:
            self._entities.clear()
            self._vectors.clear()
            self._keys.clear()
            self._expected = total

    def _load(self, type_name: str) -> None:
        if type_name in self._entities:
            return
        self._entities[type_name] = {}
        self._vectors[type_name] = {}
        self._keys[type_name] = defaultdict(set)
        for entity in self.store.fetch_entities([type_name]):
            self._index(entity)

    def _index(self, entity: Entity) -> None:
        vectors = self._vectors[entity.type]
        if entity.embedding is not None:
            vectors[entity.id] = np.asarray(entity.embedding, np.float32)
        else:
            vectors.pop(entity.id, None)
        self._entities[entity.type][entity.id] = replace(entity, embedding=None)
        for surface in (entity.name, *entity.aliases):
            for key in N.blocking_keys(surface):
                self._keys[entity.type][key].add(entity.id)

    def candidates(self, type_name: str, embeddings: np.ndarray, names: Sequence[Sequence[str]]) -> list[Entity]:
        """Graph entities of ``type_name`` that are embedding or name-key neighbours of the given units."""
        self._load(type_name)
        table = self._entities[type_name]
        if not table:
            return []
        found: dict[str, Entity] = {}
        if len(embeddings):
            hits = self.store.similar_entity_ids(type_name, embeddings.astype(float).tolist(), self.neighbours)
            if any(i not in table for row in hits for i, _ in row):  # written since the table was read: read again
                del self._entities[type_name]
                self._load(type_name)
                table = self._entities[type_name]
            found.update((i, self._whole(type_name, i)) for row in hits for i, _ in row if i in table)
        keys = self._keys[type_name]
        for unit_names in names:
            for surface in unit_names:
                for key in N.blocking_keys(surface):
                    ids = keys.get(key, ())
                    if 0 < len(ids) <= self.block_cap:
                        found.update((i, self._whole(type_name, i)) for i in ids if i not in found)
        return [found[i] for i in sorted(found) if found[i].embedding is not None and found[i].type == type_name]

    def _whole(self, type_name: str, entity_id: str) -> Entity:
        """The indexed entity with its embedding back as the record's tuple of floats."""
        vector = self._vectors[type_name].get(entity_id)
        entity = self._entities[type_name][entity_id]
        return entity if vector is None else replace(entity, embedding=tuple(vector.tolist()))

    def remember(self, entities: Iterable[Entity], created: int) -> None:
        """Record what this fuser handed to the writer: updated and new entities."""
        for entity in entities:
            if entity.type in self._entities:
                self._index(entity)
        if self._expected is not None:
            self._expected += created
