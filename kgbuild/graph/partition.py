"""Relationship rows in rounds of node-disjoint cells, so concurrent write transactions never wait on each other.

Creating a relationship locks both of its nodes, so two transactions writing facts over random entities lock
the same nodes in different orders and deadlock (Neo4j then retries one of them: slower than one stream). The
"mix and batch" schedule avoids that by construction: entities are hashed into ``parts`` buckets, a fact falls
in the cell of its two buckets (unordered), and a round holds cells whose buckets are all different
(a round-robin tournament over the buckets, then all same-bucket cells together). Cells of one round share no
node, so they can be written concurrently; rounds run one after the other.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]


def bucket(node_id: str, parts: int) -> int:
    """A stable bucket for a node id (the same in every process, unlike ``hash``)."""
    return zlib.crc32(node_id.encode("utf-8")) % parts


def tournament(parts: int) -> list[list[tuple[int, int]]]:
    """Round-robin pairings of ``parts`` (even) buckets: ``parts - 1`` rounds, each bucket once per round."""
    if parts < 2 or parts % 2:
        raise ValueError(f"parts must be even and at least 2, not {parts}")
    ring = list(range(parts))
    rounds = []
    for _ in range(parts - 1):
        rounds.append([tuple(sorted((ring[i], ring[parts - 1 - i]))) for i in range(parts // 2)])
        ring = [ring[0], ring[-1], *ring[1:-1]]  # the circle method: the first stays, the rest turn
    return rounds  # type: ignore[return-value]


def disjoint_rounds(rows: Sequence[Row], parts: int, ends: tuple[str, str] = ("h", "t")) -> list[list[list[Row]]]:
    """``rows`` as rounds of cells; within a round no two cells touch the same node. Empty cells are dropped,
    and rows keep their order inside a cell."""
    cells: dict[tuple[int, int], list[Row]] = {}
    for row in rows:
        a, b = bucket(row[ends[0]], parts), bucket(row[ends[1]], parts)
        cells.setdefault((min(a, b), max(a, b)), []).append(row)
    schedule = [*tournament(parts), [(i, i) for i in range(parts)]]
    rounds = [[cells[key] for key in keys if key in cells] for keys in schedule]
    return [cells_ for cells_ in rounds if cells_]
