"""Clustering metrics against gold: pairwise and B-cubed precision/recall/F1, exact-cluster F1, cluster counts.

Every precision, recall and F1 is on the percentage scale (0-100, two decimals), like ``kgbuild eval``.

All computed from the contingency table of (predicted, gold) labels, so a million items cost a sort.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from kgbuild.fusion.arrays import unique_counts, unique_inverse


def _prf(tp: float, predicted: float, gold: float) -> dict[str, float]:
    tp, predicted, gold = float(tp), float(predicted), float(gold)
    precision = tp / predicted if predicted else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(100 * precision, 2), "recall": round(100 * recall, 2), "f1": round(100 * f1, 2)}


def _codes(labels: Sequence[Hashable] | np.ndarray) -> np.ndarray:
    try:
        array = np.asarray(labels)
    except ValueError:  # labels of mixed shapes (tuples of different lengths): index them as they are
        array = np.empty(0, dtype=object)
    if array.dtype == object or array.ndim != 1 or len(array) != len(labels):
        index: dict[Hashable, int] = {}
        return np.fromiter((index.setdefault(x, len(index)) for x in labels), np.int64, len(labels))
    return unique_inverse(array.astype(np.int64) if array.dtype.kind in 'iub' else array)[1]


def cluster_scores(predicted: Sequence[Hashable] | np.ndarray, gold: Sequence[Hashable] | np.ndarray) -> dict[str, dict]:
    """``{"pairwise": prf, "b_cubed": prf, "exact_clusters": prf, "clusters": {"predicted", "gold"}}``.

    Pairwise counts item pairs put together; B-cubed averages per-item precision and recall of its cluster;
    exact-cluster F1 counts predicted clusters identical to a gold cluster (the hard cluster match used for
    coreference by JEREX).
    """
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold must label the same items")
    n = len(gold)
    p, g = _codes(predicted), _codes(gold)
    if n == 0:
        empty = _prf(0, 0, 0)
        return {"pairwise": empty, "b_cubed": empty, "exact_clusters": empty, "clusters": {"predicted": 0, "gold": 0}}
    cells, cell_size = unique_counts(p * (g.max() + 1) + g)
    cell_p, cell_g = cells // (g.max() + 1), cells % (g.max() + 1)
    size_p = np.bincount(p)
    size_g = np.bincount(g)
    pairs = lambda x: (x.astype(np.float64) * (x - 1) / 2).sum()  # noqa: E731
    pairwise = _prf(pairs(cell_size), pairs(size_p), pairs(size_g))
    b3_precision = float((cell_size.astype(np.float64) ** 2 / size_p[cell_p]).sum() / n)
    b3_recall = float((cell_size.astype(np.float64) ** 2 / size_g[cell_g]).sum() / n)
    b3_f1 = 2 * b3_precision * b3_recall / (b3_precision + b3_recall) if b3_precision + b3_recall else 0.0
    b_cubed = {"precision": round(100 * b3_precision, 2), "recall": round(100 * b3_recall, 2), "f1": round(100 * b3_f1, 2)}
    exact = (cell_size == size_p[cell_p]) & (cell_size == size_g[cell_g])
    n_pred, n_gold = int((size_p > 0).sum()), int((size_g > 0).sum())
    return {
        "pairwise": pairwise,
        "b_cubed": b_cubed,
        "exact_clusters": _prf(float(exact.sum()), n_pred, n_gold),
        "clusters": {"predicted": n_pred, "gold": n_gold},
    }
