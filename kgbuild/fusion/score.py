"""Pair scoring: cosine of context embeddings plus cheap string features, combined by a logistic model.

String features are the maximum over the two items' name pairs (an item may carry several names:
the surface forms of an in-document entity, or an entity's aliases), so "IBM" meets
"International Business Machines" through the acronym feature and "Holmes" meets "Sherlock Holmes"
through token-set similarity. RapidFuzz computes the fuzzy scores in C++ over distinct name pairs only.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist

from kgbuild.fusion.aliases import LITERAL, PERSON, TITLE, persons_compatible, spelling_edits_for
from kgbuild.fusion.arrays import unique_inverse
from kgbuild.fusion.block import THREADS
from kgbuild.fusion.config import FusionConfig
from kgbuild.fusion.items import ItemTable

BASE_FEATURES = (
    "cosine",  # cosine of the items' mean mention embeddings (name + sentence context)
    "name_exact",  # the preferred names are equal after normalisation
    "alias",  # any name of one equals any name of the other (normalised)
    "acronym",  # one name is the initials of the other ("IBM" / "International Business Machines")
    "token_set",  # max RapidFuzz token_set_ratio / 100 (word overlap, containment)
    "ratio",  # max RapidFuzz ratio / 100 (edit similarity: typos)
    "cosine_alias",  # interaction: a shared name with a similar context
)
# Inside one document the same evidence means something else (a bare surname there is nearly always the
# person named in full nearby; across documents it is often someone else), so every feature also enters
# multiplied by the same-document flag.
FEATURES = (*BASE_FEATURES, "same_doc", *(f"same_doc_{name}" for name in BASE_FEATURES))


def pair_features(items: ItemTable, a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(n_pairs, len(FEATURES)) float32 feature matrix for the pairs (a[i], b[i])."""
    return score_pairs(items, a, b, None, chunk)[0]


def score_pairs(
    items: ItemTable, a: np.ndarray, b: np.ndarray, kinds: np.ndarray | None, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Features of the pairs and, per pair, whether two of their names cannot name one thing (a cannot-link).

    ``kinds`` (per type, see :func:`kgbuild.fusion.aliases.name_kind`) says which rule applies: people whose
    given or family names differ; dates and numbers whose values differ ("1939" / "June 1939"); titles of
    works, products and events that each add a word the other lacks ("Lumia Camera" / "Lumia Panorama").
    """
    base = len(BASE_FEATURES)
    out = np.zeros((len(a), len(FEATURES)), np.float32)
    if len(a) == 0:
        return out, np.zeros(0, bool)
    for start in range(0, len(a), chunk):
        sl = slice(start, start + chunk)
        out[sl, 0] = np.einsum("ij,ij->i", items.embeddings[a[sl]], items.embeddings[b[sl]])
    first = items.name_ids[items.name_ptr[:-1]]
    kind = kinds[items.types[a]] if kinds is not None else np.zeros(len(a), np.int64)
    # a group, work or event is one name in singular and plural ("Moslem" / "Moslems"): see aliases.singular
    norm = np.where((kind == TITLE)[:, None], items.names.singular_id[np.stack([first[a], first[b]], 1)],
                    items.names.norm_id[np.stack([first[a], first[b]], 1)])
    out[:, 1] = norm[:, 0] == norm[:, 1]
    named = _name_pair_features(items, a, b, kind == PERSON, kind == TITLE)
    out[:, 2:6] = named[:, :4]
    out[:, 6] = out[:, 0] * out[:, 2]
    same = same_document(items, a, b).astype(np.float32)
    out[:, base] = same
    out[:, base + 1 :] = out[:, :base] * same[:, None]
    conflict = ((named[:, 4] > 0) & (kind == PERSON)) | ((named[:, 5] > 0) & (kind == LITERAL)) | ((named[:, 6] > 0) & (kind == TITLE))
    return out, conflict


def same_document(items: ItemTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 where both items come from one document (their merge threshold is the in-document one), else 0."""
    return ((items.docs[a] >= 0) & (items.docs[a] == items.docs[b])).astype(np.int64)


def _name_pair_features(
    items: ItemTable, a: np.ndarray, b: np.ndarray, person: np.ndarray, title: np.ndarray
) -> np.ndarray:
    """alias, acronym, token_set, ratio and three conflicts (person, literal, title): each the maximum over the
    cross product of the two name lists (the person conflict only computed where ``person``; where ``title``, a
    name and its plural are aliases: "Moslem" / "Moslems")."""
    ptr, ids, names = items.name_ptr, items.name_ids, items.names
    count_a = ptr[a + 1] - ptr[a]
    count_b = ptr[b + 1] - ptr[b]
    reps = count_a * count_b
    seg_start = np.cumsum(reps) - reps
    pair_of = np.repeat(np.arange(len(a)), reps)
    r = np.arange(int(reps.sum())) - seg_start[pair_of]
    na = ids[ptr[a][pair_of] + r // count_b[pair_of]]
    nb = ids[ptr[b][pair_of] + r % count_b[pair_of]]
    # string scores on distinct (name, name) pairs only, symmetric so order them
    lo, hi = np.minimum(na, nb), np.maximum(na, nb)
    code, inverse = unique_inverse(lo * len(names.surfaces) + hi)
    ua, ub = code // len(names.surfaces), code % len(names.surfaces)
    alias = names.norm_id[ua] == names.norm_id[ub]
    token_set = np.ones(len(ua), np.float32)  # equal normalised names score 1; only the others go to RapidFuzz
    ratio = np.ones(len(ua), np.float32)
    differ = np.flatnonzero(~alias)
    if len(differ):
        left = [names.normalized[i] for i in ua[differ]]
        right = [names.normalized[i] for i in ub[differ]]
        token_set[differ] = cpdist(left, right, scorer=fuzz.token_set_ratio, workers=THREADS) / 100.0
        ratio[differ] = cpdist(left, right, scorer=fuzz.ratio, workers=THREADS) / 100.0
    acr_a, acr_b = names.acronym_id[ua], names.acronym_id[ub]
    acronym = ((acr_a >= 0) & (acr_a == names.compact_id[ub])) | ((acr_b >= 0) & (acr_b == names.compact_id[ua]))
    is_person = np.zeros(len(ua), bool)
    is_person[inverse[person[pair_of]]] = True
    conflict = _person_conflicts(names, ua, ub, is_person, alias, token_set, ratio)
    literal = ~alias  # two dates or numbers are one only when written alike
    both_long = (names.n_words[ua] > 1) & (names.n_words[ub] > 1)
    title_conflict = both_long & (token_set < 1.0) & (ratio < 0.8) & ~alias & ~acronym  # each adds a word the other lacks (not a typo)
    plural = names.singular_id[ua] == names.singular_id[ub]
    columns = [alias, acronym, token_set, ratio, conflict, literal, title_conflict, plural]
    per_name = np.stack(columns, axis=1).astype(np.float32)[inverse]
    out = np.maximum.reduceat(per_name, seg_start, axis=0)
    out[:, 0] = np.maximum(out[:, 0], out[:, 7] * title)
    return out[:, :7]


def _person_conflicts(
    names, ua: np.ndarray, ub: np.ndarray, person: np.ndarray, alias: np.ndarray, token_set: np.ndarray, ratio: np.ndarray
) -> np.ndarray:
    """Distinct name pairs of people whose given or family names differ ("Boris" / "Naina Yeltsin").

    Exact word comparisons run vectorised; pairs they reject but that look alike (a typo, a middle name) are
    decided by :func:`kgbuild.fusion.aliases.persons_compatible`.
    """
    fa, fb, la, lb = names.first_id[ua], names.first_id[ub], names.last_id[ua], names.last_id[ub]
    wa, wb = names.n_words[ua], names.n_words[ub]
    ia, ib = names.initial_id[ua], names.initial_id[ub]
    single_a, single_b = wa == 1, wb == 1
    same = _same_words(names.words, person)
    both_single = single_a & single_b & (same(la, lb) | (la == ib) | (lb == ia))
    one_single = (single_a & ~single_b & (same(la, fb) | same(la, lb) | (la == ib))) | (
        single_b & ~single_a & (same(lb, fa) | same(lb, la) | (lb == ia))
    )  # a lone initial ("H.") agrees with the name it starts
    initial = ((fa == ia) | (fb == ib)) & (ia == ib)
    both_long = ~single_a & ~single_b & same(la, lb) & (same(fa, fb) | initial)
    ok = alias | (wa == 0) | (wb == 0) | both_single | one_single | both_long | ~person
    # a middle name, a possessive, a typo that moved a space: the full rule decides
    unsure = np.flatnonzero(~ok & ((token_set >= 0.99) | (ratio >= 0.8)))
    for i in unsure.tolist():
        ok[i] = persons_compatible(names.surfaces[ua[i]], names.surfaces[ub[i]])
    return ~ok


def _same_words(words: list[str], where: np.ndarray):
    """A vectorised word test: equal ids, or similar spellings of four letters or more (as
    :func:`kgbuild.fusion.aliases.persons_compatible` reads them); computed only where ``where``."""

    lengths = np.fromiter(map(len, words), np.int64, len(words))

    def same(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = (x == y) & (x >= 0)
        todo = np.flatnonzero(where & ~out & (x >= 0) & (y >= 0))
        if len(todo):
            left, right = x[todo], y[todo]
            distance = cpdist([words[i] for i in left], [words[i] for i in right], scorer=OSA.distance, workers=THREADS)
            out[todo] = distance <= spelling_edits_for(np.maximum(lengths[left], lengths[right]))
        return out

    return same


def probabilities(features: np.ndarray, config: FusionConfig) -> np.ndarray:
    """Merge probability of each pair under the config's logistic weights (rounded: stable under reordering)."""
    weights = np.array([float(config.weights.get(name, 0.0)) for name in FEATURES], np.float64)
    logits = features.astype(np.float64) @ weights + float(config.intercept)
    return np.round(1.0 / (1.0 + np.exp(-logits)), 6)
