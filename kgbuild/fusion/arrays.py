"""Sort-based set operations on int64 arrays.

numpy 2's default ``np.unique`` hashes; on millions of distinct int64 codes that is 20x slower than sorting
(10.6 s against 0.4 s for 5.5M codes here), and fusion dedupes pair codes of that size.
"""

from __future__ import annotations

import numpy as np


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """The distinct values, ascending."""
    if len(x) == 0:
        return x.copy()
    s = np.sort(x)
    return s[np.concatenate([[True], s[1:] != s[:-1]])]


def unique_inverse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values ascending, index of each element's value among them)."""
    if len(x) == 0:
        return x.copy(), np.zeros(0, np.int64)
    order = np.argsort(x)
    s = x[order]
    first = np.concatenate([[True], s[1:] != s[:-1]])
    inverse = np.empty(len(x), np.int64)
    inverse[order] = np.cumsum(first) - 1
    return s[first], inverse


def unique_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values ascending, how often each occurs)."""
    if len(x) == 0:
        return x.copy(), np.zeros(0, np.int64)
    s = np.sort(x)
    starts = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1]]))
    return s[starts], np.diff(np.concatenate([starts, [len(s)]]))
