"""The mix-and-batch schedule: every row lands in exactly one cell, and cells of a round share no node."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.graph.partition import bucket, disjoint_rounds, tournament

node_ids = st.text(alphabet="abcdefgh0123456789", min_size=1, max_size=6)


@pytest.mark.parametrize("parts", [2, 4, 6, 8])
def test_tournament_pairs_every_two_buckets_once_and_no_bucket_twice_in_a_round(parts: int) -> None:
    rounds = tournament(parts)
    assert len(rounds) == parts - 1
    pairs = [pair for round_ in rounds for pair in round_]
    assert sorted(pairs) == [(a, b) for a in range(parts) for b in range(a + 1, parts)]
    for round_ in rounds:
        used = [bucket_ for pair in round_ for bucket_ in pair]
        assert sorted(used) == list(range(parts))


def test_tournament_needs_an_even_number_of_buckets() -> None:
    with pytest.raises(ValueError, match="even"):
        tournament(3)


def test_bucket_is_stable_across_processes() -> None:
    assert bucket("ent_00000001", 4) == bucket("ent_00000001", 4) == 0  # crc32, not the salted hash()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(node_ids, node_ids), max_size=60), st.sampled_from([2, 4, 6]))
def test_rounds_cover_each_row_once_with_node_disjoint_cells(edges: list[tuple[str, str]], parts: int) -> None:
    rows = [{"h": h, "t": t, "n": i} for i, (h, t) in enumerate(edges)]
    rounds = disjoint_rounds(rows, parts)
    assert sorted(row["n"] for cells in rounds for cell in cells for row in cell) == list(range(len(rows)))
    for cells in rounds:
        assert all(cells)
        nodes = [{row["h"] for row in cell} | {row["t"] for row in cell} for cell in cells]
        for i in range(len(nodes)):
            for j in range(i + 1, len(nodes)):
                assert not nodes[i] & nodes[j]
        for cell in cells:  # rows keep their order inside a cell
            assert [row["n"] for row in cell] == sorted(row["n"] for row in cell)
