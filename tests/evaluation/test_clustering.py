"""Clustering metrics, checked against hand counts (percentages, 0-100)."""

from __future__ import annotations

import pytest

from kgbuild.evaluation.clustering import cluster_scores


def test_scores_match_hand_counts() -> None:
    # predicted {0,1} {2} {3,4,5}; gold {0,1,2} {3,4} {5}
    scores = cluster_scores([1, 1, 2, 3, 3, 3], ["a", "a", "a", "b", "b", "c"])
    assert scores["pairwise"] == {"precision": 50.0, "recall": 50.0, "f1": 50.0}
    # B-cubed precision: items 0,1: 1; 2: 1; 3,4: 2/3; 5: 1/3 -> (1+1+1+2/3+2/3+1/3)/6 = 7/9
    assert scores["b_cubed"]["precision"] == pytest.approx(700 / 9, abs=0.01)
    # recall: 0,1: 2/3; 2: 1/3; 3,4: 1; 5: 1 -> (2/3+2/3+1/3+1+1+1)/6 = 7/9
    assert scores["b_cubed"]["recall"] == pytest.approx(700 / 9, abs=0.01)
    assert scores["exact_clusters"]["f1"] == 0.0
    assert scores["clusters"] == {"predicted": 3, "gold": 3}


def test_perfect_and_all_singletons() -> None:
    gold = [0, 0, 1, 2, 2]
    perfect = cluster_scores(["x", "x", "y", "z", "z"], gold)
    assert perfect["pairwise"]["f1"] == perfect["b_cubed"]["f1"] == perfect["exact_clusters"]["f1"] == 100.0
    singletons = cluster_scores([0, 1, 2, 3, 4], gold)
    assert singletons["pairwise"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert singletons["b_cubed"]["precision"] == 100.0
    assert singletons["exact_clusters"]["precision"] == pytest.approx(20.0)


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError):
        cluster_scores([0, 1], [0])
