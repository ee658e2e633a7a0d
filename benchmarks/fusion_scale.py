"""Fusion at scale: 10k, 100k and 1M synthetic mentions, timed, with peak memory and quality, beside the
exact O(n^2) pairwise resolver for the sizes where it finishes.

Run:  python benchmarks/fusion_scale.py                 (10k, 100k, 1M; about 5 minutes on 2 cores)
      python benchmarks/fusion_scale.py --sizes 10000 --baseline-max 10000
      python benchmarks/fusion_scale.py --ann-compare 100000   (faiss vs hnswlib vs usearch blocking)

The data (made before the clock starts; embeddings are precomputed as in a build that embedded while
extracting):
- entities of four types with Zipf-distributed popularity; names from syllable-built words, a share of
  entities reusing another entity's name (homonyms: "two First National Banks") within a type, and names
  shared across types;
- documents of ~8 entities, 1-4 mentions each; mentions of one entity in one document form one unit (the
  extractor's in-document cluster), units of one document are must-not-link;
- surface variation per mention: titles ("Dr."), initials ("J. Smith"), surname or first word only,
  acronyms of organisations ("IBM"), one-character typos, case changes, a leading "the";
- embeddings: a name part, the normalised sum of random vectors of the name's character trigrams (hashed),
  so a typo or a title keeps most of it and an acronym keeps none; and a context part, the entity's random
  topic vector plus noise; mixed with the fusion settings' context weight. All random vectors are drawn
  with the covariance spectrum measured on real all-MiniLM-L6-v2 mention embeddings (see ``Space``).
Each size runs in its own process, so peak memory (ru_maxrss) is that size's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgbuild.fusion.config import FusionConfig  # noqa: E402
from kgbuild.fusion.items import ItemTable  # noqa: E402

TYPES = ("Person", "Organization", "Location", "Misc")
TYPE_SHARE = (0.35, 0.25, 0.3, 0.1)
DIM = 384
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "an", "er", "ol", "is")]
ORG_SUFFIX = ("Corporation", "Group", "Bank", "University", "Institute", "Records", "Airlines", "Council")
LOC_SUFFIX = ("River", "City", "Island", "Valley", "County", "Lake")
TITLES = ("Dr.", "Mr.", "Mrs.", "Prof.", "Sir", "President")


@dataclass
class Synthetic:
    """Units (in-document entities) with names, type, document, embedding, and the gold entity per unit."""

    keys: list[str]
    types: list[str]
    names: list[list[str]]
    embeddings: np.ndarray
    docs: np.ndarray
    gold: np.ndarray
    mention_counts: np.ndarray
    mentions: int


def _word(rng: np.random.Generator, syllables: int) -> str:
    return "".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), syllables)).capitalize()


def _entity_name(rng: np.random.Generator, type_name: str) -> str:
    if type_name == "Person":
        return f"{_word(rng, 2)} {_word(rng, int(rng.integers(2, 4)))}"
    if type_name == "Organization":
        words = [_word(rng, int(rng.integers(2, 4))) for _ in range(int(rng.integers(1, 4)))]
        return " ".join(words + [ORG_SUFFIX[int(rng.integers(len(ORG_SUFFIX)))]])
    if type_name == "Location":
        name = _word(rng, int(rng.integers(2, 4)))
        return f"{name} {LOC_SUFFIX[int(rng.integers(len(LOC_SUFFIX)))]}" if rng.random() < 0.4 else name
    return " ".join(_word(rng, 2) for _ in range(int(rng.integers(1, 3))))


def _typo(rng: np.random.Generator, name: str) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if len(letters) < 4:
        return name
    i = letters[int(rng.integers(1, len(letters)))]
    kind = rng.integers(3)
    if kind == 0:
        return name[:i] + name[i + 1 :]
    if kind == 1 and i + 1 < len(name):
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + "aeiou"[int(rng.integers(5))] + name[i + 1 :]


def _variant(rng: np.random.Generator, name: str, type_name: str) -> str:
    """A surface form of ``name`` as a writer might use it."""
    words = name.split()
    r = rng.random()
    if r < 0.55:
        return name
    if r < 0.63:
        return _typo(rng, name)
    if type_name == "Person":
        if r < 0.72:
            return f"{TITLES[int(rng.integers(len(TITLES)))]} {name}"
        if r < 0.80:
            return f"{words[0][0]}. {' '.join(words[1:])}"
        if r < 0.90:
            return words[-1]
        return name.upper() if r < 0.93 else name
    if type_name == "Organization":
        if r < 0.75 and len(words) >= 2:
            return "".join(w[0] for w in words).upper()
        if r < 0.85:
            return f"the {name}"
        if r < 0.92:
            return words[0]
        return name.lower()
    if r < 0.75:
        return f"the {name}"
    return name.lower() if r < 0.8 else name


class Space:
    """Random vectors shaped like all-MiniLM-L6-v2 mention embeddings of Re-DocRED: eigenvalues following the
    power law (i + 67.5) ** -2.47 fitted to them (64 components: 66% of the variance; measured 65%), and a
    common direction (real embeddings' mean vector has norm 0.41)."""

    def __init__(self, rng: np.random.Generator) -> None:
        spectrum = (np.arange(1, DIM + 1) + 67.5) ** -2.47
        basis, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
        self.transform = (np.sqrt(spectrum / spectrum.sum() * DIM)[:, None] * basis.T).astype(np.float32)
        self.offset = rng.standard_normal(DIM).astype(np.float32)
        self.offset *= 0.45 / np.linalg.norm(self.offset)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n raw (unnormalised) vectors of the space's covariance."""
        return rng.standard_normal((n, DIM), dtype=np.float32) @ self.transform

    def finish(self, raw: np.ndarray) -> np.ndarray:
        """Unit vectors with the common direction added, as an encoder's outputs look."""
        raw = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12) + self.offset
        return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def _trigram_vectors(surfaces: list[str], space: Space, rng: np.random.Generator, buckets: int = 1 << 14) -> np.ndarray:
    """Unit vectors: the sum of hashed random vectors of each name's character trigrams (a cheap subword encoder)."""
    from scipy.sparse import csr_matrix

    rows, cols = [], []
    for i, surface in enumerate(surfaces):
        text = f"#{surface.lower()}#"
        for j in range(len(text) - 2):
            rows.append(i)
            cols.append(zlib.crc32(text[j : j + 3].encode()) % buckets)
    counts = csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(surfaces), buckets))
    vectors = np.asarray(counts @ space.draw(rng, buckets), dtype=np.float32)
    return space.finish(vectors)


def make_data(n_mentions: int, context_weight: float, seed: int = 7) -> Synthetic:
    """Synthetic units with about ``n_mentions`` mentions (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_entities = max(20, n_mentions // 12)
    entity_type = rng.choice(len(TYPES), n_entities, p=TYPE_SHARE)
    names = [_entity_name(rng, TYPES[t]) for t in entity_type]
    for e in range(n_entities):
        r = rng.random()
        if r < 0.05:  # a homonym: another entity's name, same type
            same = np.flatnonzero(entity_type == entity_type[e])
            names[e] = names[int(same[rng.integers(len(same))])]
        elif r < 0.07:  # a name shared across types (a person's surname as a place)
            names[e] = names[int(rng.integers(n_entities))].split()[-1]
    popularity = 1.0 / np.arange(1, n_entities + 1) ** 0.8
    popularity = rng.permutation(popularity / popularity.sum())
    space = Space(rng)
    topics = space.draw(rng, n_entities)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    keys, types, unit_names, docs, gold, counts = [], [], [], [], [], []
    doc = mentions = 0
    while mentions < n_mentions:
        chosen = np.unique(rng.choice(n_entities, int(rng.integers(4, 12)), p=popularity))
        for e in chosen:
            k = int(rng.integers(1, 5))
            surfaces = [_variant(rng, names[e], TYPES[entity_type[e]]) for _ in range(k)]
            keys.append(f"d{doc:08d}:{len(keys)}")
            types.append(TYPES[entity_type[e]])
            unit_names.append(list(dict.fromkeys(surfaces)))
            docs.append(doc)
            gold.append(int(e))
            counts.append(k)
            mentions += k
        doc += 1
    # embeddings: mean over a unit's names of their trigram vectors, mixed with a noisy context vector
    distinct = sorted({s for group in unit_names for s in group})
    index = {s: i for i, s in enumerate(distinct)}
    name_vectors = _trigram_vectors(distinct, space, rng)
    del distinct
    n_units = len(keys)
    embeddings = np.empty((n_units, DIM), np.float32)
    gold_array = np.asarray(gold, np.int64)
    for start in range(0, n_units, 65536):
        stop = min(n_units, start + 65536)
        block = np.stack([name_vectors[[index[s] for s in unit_names[u]]].mean(axis=0) for u in range(start, stop)])
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        noise = space.draw(rng, stop - start)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        context = space.finish(topics[gold_array[start:stop]] + 1.2 * noise)
        mixed = (1 - context_weight) * block + context_weight * context
        embeddings[start:stop] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return Synthetic(keys, types, unit_names, embeddings, np.asarray(docs, np.int64), gold_array,
                     np.asarray(counts, np.int64), mentions)


def items_of(data: Synthetic) -> ItemTable:
    """The units as the fuser's item table: documents are the must-not-link groups."""
    return ItemTable.build(data.keys, data.types, data.names, data.embeddings, data.docs, data.docs)


def blocking_recall(items: ItemTable, gold: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Pairwise recall of the best clustering these candidates allow: true candidate pairs, joined transitively."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from kgbuild.evaluation.clustering import cluster_scores

    true = gold[a] == gold[b]
    graph = coo_matrix((np.ones(int(true.sum()), np.int8), (a[true], b[true])), shape=(len(gold), len(gold)))
    _, labels = connected_components(graph, directed=False)
    return cluster_scores(labels, gold)["pairwise"]["recall"] / 100


def compare_ann(n_mentions: int, config: FusionConfig) -> list[dict]:
    """Blocking with each ANN library on the same units: seconds (wall and CPU) and the recall it allows.

    Plain names search PCA-64 vectors (what kgbuild does), "-384" the full vectors; "exact" is full-width
    brute force. recall_knn: pairwise recall of the best clustering the k-NN pairs allow; with_keys: adding
    the name-key pairs, as the fuser does.
    """
    from kgbuild.fusion import block

    data = make_data(n_mentions, config.context_weight)
    items = items_of(data)
    keys = block.key_pairs(items, config.block_cap)
    rows = []
    for backend in ("exact", "faiss", "hnswlib", "usearch", "faiss-384", "hnswlib-384", "usearch-384"):
        library = backend.split("-")[0]
        try:
            __import__({"exact": "numpy", "faiss": "faiss", "hnswlib": "hnswlib", "usearch": "usearch.index"}[library])
        except ImportError:
            print(f"{backend}: not installed (pip install {library}); skipped", flush=True)
            continue
        wall, cpu = time.perf_counter(), time.process_time()
        na, nb = block.neighbour_pairs(items, config.neighbours, backend)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        knn_a, knn_b = block._canonical([na], [nb])
        all_a, all_b = block._canonical([na, keys[0]], [nb, keys[1]])
        rows.append({
            "backend": backend, "units": len(items), "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "recall_knn": round(blocking_recall(items, data.gold, knn_a, knn_b), 4),
            "recall_with_keys": round(blocking_recall(items, data.gold, all_a, all_b), 4),
        })
        print(rows[-1], flush=True)
    return rows


class PeakRSS:
    """Samples this process's resident memory every 20 ms while active; ``peak`` in bytes."""

    def __init__(self) -> None:
        import threading

        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def exhaustive(items: ItemTable, config: FusionConfig, chunk_rows: int = 256) -> np.ndarray:
    """The exact O(n^2) resolver: every pair of one type scored and thresholded, then the same clustering."""
    from kgbuild.fusion.cluster import constrained_clusters
    from kgbuild.fusion.resolve import thresholds_for
    from kgbuild.fusion.score import pair_features, probabilities, same_document

    limits = thresholds_for(items, config, {})
    kept_a, kept_b, kept_s = [], [], []
    for t in range(len(items.type_names)):
        members = np.flatnonzero(items.types == t)
        for start in range(0, len(members), chunk_rows):
            rows = members[start : start + chunk_rows]
            a = np.repeat(rows, len(members))
            b = np.tile(members, len(rows))
            keep = (a < b) & ((items.groups[a] < 0) | (items.groups[a] != items.groups[b]))
            a, b = a[keep], b[keep]
            if not len(a):
                continue
            scores = probabilities(pair_features(items, a, b), config)
            ok = scores >= limits[items.types[a], same_document(items, a, b)]
            kept_a.append(a[ok])
            kept_b.append(b[ok])
            kept_s.append(scores[ok])
    a, b, s = (np.concatenate(x) if x else np.zeros(0) for x in (kept_a, kept_b, kept_s))
    return constrained_clusters(len(items), a.astype(np.int64), b.astype(np.int64), s, items.groups, np.arange(len(items)))


def run_one(n_mentions: int, config: FusionConfig, baseline: bool) -> dict:
    """Generate, then time kgbuild's resolver (and the exhaustive one if asked) on one size."""
    from kgbuild.evaluation.clustering import cluster_scores
    from kgbuild.fusion.resolve import resolve

    data = make_data(n_mentions, config.context_weight)
    gold = np.repeat(data.gold, data.mention_counts)
    out: dict = {"mentions": data.mentions, "units": len(data.keys), "entities": int(len(np.unique(data.gold)))}
    with PeakRSS() as rss:
        wall, cpu = time.perf_counter(), time.process_time()
        result = resolve(items_of(data), config)
        out["kgbuild"] = {
            "seconds": round(time.perf_counter() - wall, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2),
            "stages": {k: round(v, 2) for k, v in result.seconds.items()},
            "candidates": result.candidates,
            "peak_rss_gb": 0.0,
            **_quality(cluster_scores(np.repeat(result.labels, data.mention_counts), gold)),
        }
    out["kgbuild"]["peak_rss_gb"] = round(rss.peak / 2**30, 2)
    if baseline:
        with PeakRSS() as rss:
            wall, cpu = time.perf_counter(), time.process_time()
            labels = exhaustive(items_of(data), config)
            out["exhaustive"] = {
                "seconds": round(time.perf_counter() - wall, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "candidates": int(sum(c * (c - 1) // 2 for c in np.bincount(np.unique(data.types, return_inverse=True)[1]))),
                "peak_rss_gb": 0.0,
                **_quality(cluster_scores(np.repeat(labels, data.mention_counts), gold)),
            }
        out["exhaustive"]["peak_rss_gb"] = round(rss.peak / 2**30, 2)
    out["process_peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return out


def _quality(scores: dict) -> dict:
    return {
        "pairwise_f1": scores["pairwise"]["f1"] / 100,
        "b_cubed_f1": scores["b_cubed"]["f1"] / 100,
        "clusters": scores["clusters"]["predicted"],
        "gold_clusters": scores["clusters"]["gold"],
    }


def print_table(rows: list[dict], load: tuple[float, float]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=190)
    table = Table(title="fusion at scale: kgbuild (ANN blocking) vs exact O(n^2) pairwise, same scoring and clustering")
    for column in ("mentions", "units", "resolver", "seconds", "CPU s", "s / 100k mentions", "peak RSS GiB",
                   "candidate pairs", "pairwise F1", "B3 F1", "clusters / gold", "vs exhaustive"):
        table.add_column(column, justify="right")
    for row in rows:
        for name in ("kgbuild", "exhaustive"):
            r = row.get(name)
            if r is None:
                continue
            ratio = ""
            if name == "kgbuild" and "exhaustive" in row:
                ratio = f"{row['exhaustive']['seconds'] / max(r['seconds'], 1e-9):.1f}x faster"
            table.add_row(
                f"{row['mentions']:,}", f"{row['units']:,}", name, f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.1f}",
                f"{100_000 * r['seconds'] / row['mentions']:.2f}", f"{r['peak_rss_gb']:.2f}", f"{r['candidates']:,}",
                f"{100 * r['pairwise_f1']:.2f}", f"{100 * r['b_cubed_f1']:.2f}", f"{r['clusters']:,} / {r['gold_clusters']:,}", ratio,
            )
        if "exhaustive" not in row and row.get("exhaustive_estimate_s"):
            table.add_row(f"{row['mentions']:,}", f"{row['units']:,}", "exhaustive", f"~{row['exhaustive_estimate_s']:,.0f} (not run)",
                          "", "", "", "", "", "", "", "")
    console.print(table)
    console.print(f"load average (1 min) before/after: {load[0]:.1f} / {load[1]:.1f} on {os.cpu_count()} cores; "
                  "seconds are wall clock, CPU s is this process's CPU time (all threads)")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated mention counts")
    parser.add_argument("--baseline-max", type=int, default=10000, help="largest size the O(n^2) resolver runs on")
    parser.add_argument("--thresholds", default=None, help="fusion.json to use (default: the shipped settings)")
    parser.add_argument("--ann-compare", type=int, default=0, help="compare faiss, hnswlib, usearch blocking on N mentions")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from kgbuild.fusion.config import resolve_config

    config = resolve_config(args.thresholds)
    if args.ann_compare:
        return compare_ann(args.ann_compare, config)
    if args.one:
        print(json.dumps(run_one(args.one, config, args.baseline)))
        return []
    load_before = os.getloadavg()[0]
    rows: list[dict] = []
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(size)] + (["--thresholds", args.thresholds] if args.thresholds else [])
        if size <= args.baseline_max:
            command.append("--baseline")
        print(f"[fusion_scale] {size:,} mentions ...", flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"size {size} failed:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
    measured = [r for r in rows if "exhaustive" in r]
    if measured:  # the exhaustive resolver grows with the square of the units per type
        ref = max(measured, key=lambda r: r["units"])
        for row in rows:
            if "exhaustive" not in row:
                row["exhaustive_estimate_s"] = ref["exhaustive"]["seconds"] * (row["units"] / ref["units"]) ** 2
    print_table(rows, (load_before, os.getloadavg()[0]))
    if args.json:
        print(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
