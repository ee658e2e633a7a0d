"""Blocking: which item pairs are worth scoring, in O(n) rather than O(n^2).

Two sources of candidates, both within one entity type:
- nearest neighbours in embedding space (exact below ``EXACT_MAX`` items, else an approximate index);
- shared name keys (normalised name, acronym, first/last word) for blocks up to ``block_cap`` items.
The approximate index is faiss IVF-Flat over inner products: on the synthetic scale data it gave the best
recall per second of the three installed libraries (figures in docs/fusion.md; `benchmarks/fusion_scale.py
--ann-compare` measures them again).
"""

from __future__ import annotations

import math
import os
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from kgbuild import names as N
from kgbuild.fusion.arrays import unique_sorted
from kgbuild.fusion.items import ItemTable

EXACT_MAX = 8192  # below this many items of a type, exact k-NN by matrix products is fast enough
REDUCED_DIM = 64  # principal components the approximate index searches in
WINDOW = 4  # in a name-key block over the cap, each member's pairs with its next members along one direction
THREADS = int(os.environ.get("KGBUILD_FUSION_THREADS", "2"))
Pairs = tuple[np.ndarray, np.ndarray]  # (i, j) with i < j, int64


def knn_exact(x: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """(n, k) indices of each row's k most similar other rows (-1 padding), by blocked matrix products."""
    n = len(x)
    k = min(k, n - 1)
    out = np.full((n, max(k, 0)), -1, np.int64)
    if k <= 0:
        return out
    for start in range(0, n, chunk):
        sims = x[start : start + chunk] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # not its own neighbour
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[start : start + chunk] = top
    return out


def pca_reduce(x: np.ndarray, sample: np.ndarray, dim: int) -> np.ndarray:
    """Project rows on the top ``dim`` principal axes of ``sample`` and re-normalise (numpy eigh: fast at d=384)."""
    mean = sample.mean(axis=0)
    centred = (sample - mean).astype(np.float64)  # LAPACK's float32 eigh is 20x slower here than float64's
    with threadpool_limits(1, user_api="blas"):  # a 384x384 eigh gains nothing from threads and loses much on a busy machine
        _, vectors = np.linalg.eigh(centred.T @ centred)
    axes = np.ascontiguousarray(vectors[:, ::-1][:, :dim], dtype=np.float32)
    out = (x - mean.astype(np.float32)) @ axes
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(out, dtype=np.float32)


def knn_faiss_ivf(x: np.ndarray, k: int, list_size: int = 128, nprobe: int = 3, reduce_to: int = REDUCED_DIM) -> np.ndarray:
    """Approximate k-NN with faiss IVF-Flat (inner product) on PCA-reduced vectors, lists of ~``list_size``.

    Blocking only needs the neighbourhood, not exact similarities (pairs are re-scored at full width), and
    all-MiniLM-L6-v2 mention embeddings are low-rank: 64 principal components hold 65% of their variance and
    k-NN on them kept 99.99% of the cross-document blocking recall of full 384-d k-NN on Re-DocRED train_400.
    """
    import faiss

    faiss.omp_set_num_threads(THREADS)
    n, d = x.shape
    sample = x[np.linspace(0, n - 1, min(n, 50_000), dtype=np.int64)]
    if reduce_to and d > reduce_to:
        x = pca_reduce(x, sample, reduce_to)
        d = reduce_to
        sample = x[np.linspace(0, n - 1, min(n, 50_000), dtype=np.int64)]
    nlist = max(1, n // list_size)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.min_points_per_centroid = 1  # the sample is sized for the lists; no warning needed
    index.cp.niter = 8
    index.cp.seed = 1
    index.train(sample[np.linspace(0, len(sample) - 1, min(len(sample), 32 * nlist), dtype=np.int64)])
    index.add(x)
    index.nprobe = nprobe
    _, found = index.search(x, k + 1)
    return _drop_self(found, k)


def knn_hnswlib(x: np.ndarray, k: int, m: int = 12, ef: int = 32, reduce_to: int = 0) -> np.ndarray:
    """Approximate k-NN with hnswlib (HNSW graph, inner product), optionally on PCA-reduced vectors."""
    import hnswlib

    if reduce_to and x.shape[1] > reduce_to:
        x = pca_reduce(x, x[np.linspace(0, len(x) - 1, min(len(x), 50_000), dtype=np.int64)], reduce_to)
    n, d = x.shape
    index = hnswlib.Index(space="ip", dim=d)
    index.init_index(max_elements=n, ef_construction=2 * ef, M=m, random_seed=1)
    index.set_num_threads(THREADS)
    index.add_items(x, np.arange(n))
    index.set_ef(max(ef, k + 1))
    found, _ = index.knn_query(x, k=min(k + 1, n))
    return _drop_self(found.astype(np.int64), k)


def knn_usearch(x: np.ndarray, k: int, m: int = 12, ef: int = 32, reduce_to: int = 0) -> np.ndarray:
    """Approximate k-NN with usearch (HNSW, int8-quantised vectors), optionally on PCA-reduced vectors."""
    from usearch.index import Index

    if reduce_to and x.shape[1] > reduce_to:
        x = pca_reduce(x, x[np.linspace(0, len(x) - 1, min(len(x), 50_000), dtype=np.int64)], reduce_to)
    n, d = x.shape
    index = Index(ndim=d, metric="ip", dtype="i8", connectivity=m, expansion_add=2 * ef, expansion_search=ef)
    index.add(np.arange(n), x, threads=THREADS)
    found = index.search(x, k + 1, threads=THREADS).keys.astype(np.int64)
    found[found >= n] = -1  # usearch pads missing results with a sentinel key
    return _drop_self(found, k)


ANN_BACKENDS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "faiss": knn_faiss_ivf,
    "faiss-384": lambda x, k: knn_faiss_ivf(x, k, reduce_to=0),
    "hnswlib": lambda x, k: knn_hnswlib(x, k, reduce_to=REDUCED_DIM),
    "hnswlib-384": knn_hnswlib,
    "usearch": lambda x, k: knn_usearch(x, k, reduce_to=REDUCED_DIM),
    "usearch-384": knn_usearch,
}


def _drop_self(found: np.ndarray, k: int) -> np.ndarray:
    """Remove each row's own index from its neighbour list and keep k columns."""
    n = len(found)
    rows = np.arange(n)[:, None]
    found = np.where(found == rows, -1, found)
    # stable: keep the order of the remaining neighbours, padding at the end
    order = np.argsort(found < 0, axis=1, kind="stable")
    return np.take_along_axis(found, order, axis=1)[:, :k]


def knn(x: np.ndarray, k: int, backend: str = "auto") -> np.ndarray:
    """k nearest neighbours of each row among the other rows: exact for small inputs, else the ANN backend."""
    if len(x) <= 1 or k <= 0:
        return np.full((len(x), 0), -1, np.int64)
    if backend == "exact" or (backend == "auto" and len(x) <= EXACT_MAX):
        return knn_exact(x, k)
    return ANN_BACKENDS["faiss" if backend == "auto" else backend](x, k)


def neighbour_pairs(items: ItemTable, k: int, backend: str = "auto") -> Pairs:
    """Candidate pairs from k-NN in embedding space, per entity type."""
    heads, tails = [], []
    for t in range(len(items.type_names)):
        members = np.flatnonzero(items.types == t)
        if len(members) < 2:
            continue
        found = knn(items.embeddings[members], k, backend)
        rows = np.repeat(np.arange(len(members)), found.shape[1])
        cols = found.ravel()
        keep = cols >= 0
        heads.append(members[rows[keep]])
        tails.append(members[cols[keep]])
    return _concat(heads, tails)


def key_pairs(items: ItemTable, cap: int) -> Pairs:
    """All pairs of items sharing a (type, name key) in blocks of 2..cap items."""
    key_index: dict[str, int] = {}
    surface_keys = [
        [key_index.setdefault(key, len(key_index)) for key in N.blocking_keys(s)] for s in items.names.surfaces
    ]
    n_keys = max(len(key_index), 1)
    # (item, surface) rows -> (item, key) rows, vectorised through a CSR of keys per surface
    owner = np.repeat(np.arange(len(items)), np.diff(items.name_ptr))
    lengths = np.fromiter((len(k) for k in surface_keys), np.int64, len(surface_keys))
    flat_keys = np.fromiter((k for keys in surface_keys for k in keys), np.int64, int(lengths.sum()))
    key_ptr = np.concatenate([[0], np.cumsum(lengths)])
    reps = lengths[items.name_ids]
    item_col = np.repeat(owner, reps)
    offsets = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    key_col = flat_keys[np.repeat(key_ptr[items.name_ids], reps) + offsets]
    # keys are per type: (type, key) is one block
    block = items.types[item_col] * n_keys + key_col
    order = np.lexsort((item_col, block))
    block, item_col = block[order], item_col[order]
    distinct = np.ones(len(block), bool)
    distinct[1:] = (block[1:] != block[:-1]) | (item_col[1:] != item_col[:-1])
    block, item_col = block[distinct], item_col[distinct]
    a, b = _block_pairs(block, item_col, cap)
    wa, wb = _window_pairs(block, item_col, items.embeddings, cap)
    return _concat([a, wa], [b, wb])


def _window_pairs(block: np.ndarray, members: np.ndarray, embeddings: np.ndarray, cap: int) -> Pairs:
    """For blocks over ``cap`` items (a popular entity's name at scale, a common surname), each member
    paired with the next ``WINDOW`` members along a fixed direction of the embedding space: linear in the
    block's size, and similar members (one entity's variants) lie side by side, so its units stay connected.
    Dropping such blocks whole, as before, cut a popular entity's name variants apart (synthetic 100k
    mentions: blocking recall 95.9%)."""
    if len(block) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    sizes = np.diff(np.concatenate([starts, [len(block)]]))
    big = np.repeat(sizes > cap, sizes)
    if not big.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    block, members = block[big], members[big]
    direction = np.random.default_rng(0).standard_normal(embeddings.shape[1]).astype(np.float32)
    order = np.lexsort((members, embeddings[members] @ direction, block))
    block, members = block[order], members[order]
    heads, tails = [], []
    for step in range(1, WINDOW + 1):
        same = block[step:] == block[:-step]
        heads.append(members[:-step][same])
        tails.append(members[step:][same])
    return _concat(heads, tails)


def _block_pairs(block: np.ndarray, members: np.ndarray, cap: int) -> Pairs:
    """All pairs inside each run of equal ``block`` values of size 2..cap (vectorised by run size)."""
    if len(block) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    sizes = np.diff(np.concatenate([starts, [len(block)]]))
    heads, tails = [], []
    for size in np.unique(sizes):
        if size < 2 or size > cap:
            continue
        first = starts[sizes == size]
        grid = members[first[:, None] + np.arange(size)[None, :]]  # (blocks, size)
        a, b = np.triu_indices(int(size), 1)
        heads.append(grid[:, a].ravel())
        tails.append(grid[:, b].ravel())
    return _concat(heads, tails)


def _concat(heads: list[np.ndarray], tails: list[np.ndarray]) -> Pairs:
    """Concatenate pair lists (duplicates and orientation are sorted out once, by :func:`_canonical`)."""
    if not heads:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(heads).astype(np.int64), np.concatenate(tails).astype(np.int64)


def _canonical(heads: list[np.ndarray], tails: list[np.ndarray]) -> Pairs:
    """Concatenate, orient i < j, drop self pairs and duplicates."""
    if not heads:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = np.concatenate(heads).astype(np.int64)
    b = np.concatenate(tails).astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    width = int(hi.max(initial=0)) + 1
    code = unique_sorted(lo[keep] * width + hi[keep])
    return code // width, code % width


def candidate_pairs(items: ItemTable, k: int, cap: int, backend: str = "auto") -> Pairs:
    """k-NN pairs and name-key pairs, without pairs that a cannot-link group forbids."""
    na, nb = neighbour_pairs(items, k, backend)
    ka, kb = key_pairs(items, cap)
    a, b = _canonical([na, ka], [nb, kb])
    ga, gb = items.groups[a], items.groups[b]
    allowed = (ga < 0) | (ga != gb)
    return a[allowed], b[allowed]


def suggested_lists(n: int) -> int:
    """IVF list count used for n vectors (for reports)."""
    return max(1, int(math.ceil(n / 128)))
