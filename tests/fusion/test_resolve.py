"""The resolver's result depends on the set of items, never on their order (property test, no model needed)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.fusion import default_config
from kgbuild.fusion.items import ItemTable
from kgbuild.fusion.resolve import resolve

NAMES = ["IBM", "International Business Machines", "Holmes", "Sherlock Holmes", "Mr. Holmes", "Paris", "paris", "Pariss"]


def _partition(keys: list[str], labels: np.ndarray) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for key, label in zip(keys, labels.tolist()):
        groups.setdefault(label, set()).add(key)
    return {frozenset(g) for g in groups.values()}


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(2, 24))
def test_resolve_is_independent_of_item_order(data: st.DataObject, n: int) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 10_000)))
    centres = rng.standard_normal((4, 16)).astype(np.float32)
    entity = rng.integers(0, 4, n)
    embeddings = centres[entity] + 0.3 * rng.standard_normal((n, 16)).astype(np.float32)
    names = [data.draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3)) for _ in range(n)]
    types = [data.draw(st.sampled_from(["Organization", "Person"])) for _ in range(n)]
    docs = [data.draw(st.integers(0, 3)) for _ in range(n)]
    keys = [f"doc{d}:{i:03d}" for i, d in enumerate(docs)]
    perm = data.draw(st.permutations(list(range(n))))
    config = default_config()

    def run(order: list[int]) -> set[frozenset[str]]:
        table = ItemTable.build(
            [keys[i] for i in order], [types[i] for i in order], [names[i] for i in order],
            embeddings[order], [docs[i] for i in order], [docs[i] for i in order],
        )
        return _partition([keys[i] for i in order], resolve(table, config).labels)

    first = run(list(range(n)))
    assert first == run(list(perm))
    for cluster in first:  # must-not-link: one unit per document in any cluster
        documents = [key.split(":")[0] for key in cluster]
        assert len(documents) == len(set(documents))
