"""`kgbuild train fusion` fits thresholds under the linkage the fuser runs, cannot-links included."""

from __future__ import annotations

import numpy as np

from kgbuild.fusion.aliases import PERSON
from kgbuild.fusion.items import ItemTable
from kgbuild.fusion.resolve import cannot_links
from kgbuild.fusion.score import FEATURES, score_pairs
from kgbuild.training.fusion_calibration import Setting, fit_thresholds


def test_thresholds_are_fitted_with_the_person_cannot_link() -> None:
    # "Yeltsin" is Boris (0.95) and looks like Naina's too (0.90). Under the fuser's linkage Naina is refused at
    # any threshold, so every threshold up to 0.94 gives the gold and the plateau's middle is low; single linkage
    # (the first round's calibration) would chain all three below 0.90 and pick a threshold above it.
    names = [["Boris Yeltsin"], ["Yeltsin"], ["Naina Yeltsin"]]
    items = ItemTable.build(["a", "b", "c"], ["Person"] * 3, names, np.ones((3, 4), np.float32), [0, 1, 2], [-1] * 3)
    a, b = np.array([0, 1, 0], np.int64), np.array([1, 2, 2], np.int64)
    kinds = np.array([PERSON])
    features, conflict = score_pairs(items, a, b, kinds)
    assert conflict.tolist() == [False, False, True]
    setting = Setting("cross_document", items, a, b, features, np.array([0, 0, 1]), ["Person"] * 3,
                      cannot_links(items, a, b, conflict, kinds))
    assert features.shape[1] == len(FEATURES)
    chosen = fit_thresholds(setting, np.array([0.95, 0.90, 0.10]))
    assert chosen["Person"] < 0.9
