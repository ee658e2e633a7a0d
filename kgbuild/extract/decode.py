"""Pure decoding steps of the extractor: BIO tags to spans, in-document coreference, schema-respecting relations.

No model and no torch state here: every function takes plain arrays or lists (hand-set logits in tests) and returns
plain values, so each step can be tested alone (GLiNER's "decoders tested on hand-set logits").
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from kgbuild import names as N
from kgbuild.schema import Schema

# ---------------------------------------------------------------- entities


def bio_labels_for(entity_types: Sequence[str]) -> list[str]:
    """The tag set of the entity head: O, then B-/I- per type, in schema order."""
    return ["O"] + [f"{prefix}-{t}" for t in entity_types for prefix in ("B", "I")]


def bio_to_spans(tags: Sequence[str], scores: Sequence[float] | None = None) -> list[tuple[int, int, str, float]]:
    """``(first_word, end_word_exclusive, type, mean score)`` runs from BIO tags.

    Lenient like seqeval's default: an I- tag that does not continue a run of its type starts one.
    """
    spans: list[tuple[int, int, str, float]] = []
    start, kind = -1, ""

    def close(end: int) -> None:
        if start >= 0:
            mean = float(np.mean(scores[start:end])) if scores is not None else 1.0
            spans.append((start, end, kind, mean))

    for i, tag in enumerate(tags):
        prefix, _, type_ = tag.partition("-")
        if prefix == "I" and start >= 0 and type_ == kind:
            continue
        close(i)
        start, kind = (i, type_) if prefix in ("B", "I") else (-1, "")
    close(len(tags))
    return spans


def constrained_tags(probs: np.ndarray, labels: Sequence[str], starts: Sequence[int] = ()) -> list[int]:
    """The most probable tag sequence that is valid BIO (Viterbi over log-probabilities): ``I-X`` only after ``B-X``
    or ``I-X``, and never at position 0 or at a position in ``starts`` (a word after a layout break begins anew).

    Per-word argmax can read "St." as a Location and "Louis" as ``I-Organization``; this reads one span instead.
    """
    n, size = probs.shape if probs.ndim == 2 else (0, len(labels))
    if n == 0:
        return []
    logp = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, None))
    inside = np.array([lab.startswith("I-") for lab in labels])
    allowed = np.ones((size, size), dtype=bool)  # allowed[prev, cur]
    for cur, lab in enumerate(labels):
        if lab.startswith("I-"):
            allowed[:, cur] = [prev in (f"B-{lab[2:]}", lab) for prev in labels]
    transition = np.where(allowed, 0.0, -np.inf)
    fresh = set(starts) | {0}
    score = np.where(inside, -np.inf, logp[0])
    back = np.zeros((n, size), dtype=np.int64)
    for i in range(1, n):
        total = score[:, None] + transition
        back[i] = total.argmax(0)
        score = total.max(0) + logp[i]
        if i in fresh:
            score = np.where(inside, -np.inf, score)
    best = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        best.append(int(back[i, best[-1]]))
    return best[::-1]


# ---------------------------------------------------------------- coreference

N_STRING_FEATURES = 7


def string_features(a: str, b: str) -> list[float]:
    """Cheap alias evidence for a mention pair: exact, containment, acronym, last/first word, overlap, length gap."""
    na, nb = N.surface_key(a), N.surface_key(b)
    wa, wb = na.split(), nb.split()
    sa, sb = set(wa), set(wb)
    union = len(sa | sb) or 1
    return [
        float(na == nb and bool(na)),
        float(bool(sa) and bool(sb) and (sa <= sb or sb <= sa)),
        float(N.spells_initials_of(a, b) or N.spells_initials_of(b, a)),
        float(bool(wa) and bool(wb) and wa[-1] == wb[-1]),
        float(bool(wa) and bool(wb) and wa[0] == wb[0]),
        len(sa & sb) / union,
        min(abs(len(wa) - len(wb)), 5) / 5.0,
    ]


def alias_match(a: str, b: str, type_: str) -> bool:
    """The rule-based coreference test: same normalised name, an acronym, or (for people) a surname or first name."""
    na, nb = N.surface_key(a), N.surface_key(b)
    if not na or not nb:
        return False
    if na == nb or N.spells_initials_of(a, b) or N.spells_initials_of(b, a):
        return True
    if type_.lower() in N.PERSON_TYPES:
        short, long = sorted((na.split(), nb.split()), key=len)
        return len(short) == 1 and len(long) >= 2 and short[0] in (long[0], long[-1])
    return False


def group_by_alias(texts: Sequence[str], types: Sequence[str]) -> list[list[int]]:
    """Clusters of mentions of one type that :func:`alias_match` links (transitively), in order of first mention."""
    from networkx.utils import UnionFind

    groups = UnionFind(range(len(texts)))
    for i in range(len(texts)):
        for j in range(i):
            if types[i] == types[j] and groups[i] != groups[j] and alias_match(texts[i], texts[j], types[i]):
                groups.union(i, j)
    return _groups([groups[i] for i in range(len(texts))])


def cluster_by_scores(
    n: int, pairs: Sequence[tuple[int, int]], probs: Sequence[float], threshold: float = 0.5
) -> list[list[int]]:
    """Average-linkage agglomeration of ``n`` mentions: merge two clusters while their mean pair probability
    (missing pairs count as 0, i.e. not linked) exceeds ``threshold``; strongest links first."""
    score = {(min(i, j), max(i, j)): float(p) for (i, j), p in zip(pairs, probs)}
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    owner = list(range(n))
    for (i, j), p in sorted(score.items(), key=lambda kv: -kv[1]):
        if p <= threshold:
            break
        a, b = owner[i], owner[j]
        if a == b:
            continue
        links = [score.get((min(x, y), max(x, y)), 0.0) for x in members[a] for y in members[b]]
        if sum(links) / len(links) > threshold:
            members[a].extend(members.pop(b))
            for m in members[a]:
                owner[m] = a
    return _groups(owner)


def _groups(keys: Sequence[int]) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    return sorted(groups.values(), key=lambda g: g[0])


def join_touching(spans: Sequence[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Character spans ``(start, end, type, score)``, sorted, with neighbours of one type that touch (no character
    between them) joined: a tagger that splits "Majmal-ut-Tawarikh" at a hyphen into two mentions of one type
    meant one. The joined span keeps the lower score."""
    joined: list[tuple[int, int, str, float]] = []
    for start, end, type_, score in spans:
        if joined and joined[-1][2] == type_ and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end, type_, min(joined[-1][3], score))
        else:
            joined.append((start, end, type_, score))
    return joined


def majority_type(types: Sequence[str]) -> str:
    """The most frequent type (the first seen wins ties)."""
    return max(dict.fromkeys(types), key=list(types).count)


# ---------------------------------------------------------------- relations


def allowed_mask(schema: Schema, entity_types: Sequence[str], relation_types: Sequence[str]) -> np.ndarray:
    """``mask[r, h, t]``: whether relation r may hold between head type h and tail type t under ``schema``."""
    mask = np.zeros((len(relation_types), len(entity_types), len(entity_types)), dtype=bool)
    for r, relation in enumerate(relation_types):
        for h, head in enumerate(entity_types):
            for t, tail in enumerate(entity_types):
                mask[r, h, t] = schema.allows(relation, head, tail)
    return mask


def relation_columns(mask: np.ndarray) -> np.ndarray:
    """``allowed[h, t, c]`` for the relation head: column 0 (the threshold) always, column ``1 + r`` where ``mask``
    (:func:`allowed_mask`) allows relation r between head type h and tail type t."""
    threshold = np.ones((1, *mask.shape[1:]), dtype=bool)
    return np.ascontiguousarray(np.concatenate([threshold, mask]).transpose(1, 2, 0))


def decode_relations(
    logits: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    entity_type_ids: Sequence[int],
    mask: np.ndarray,
    top_k: int | None = 4,
) -> list[tuple[int, int, int, float]]:
    """``(head, tail, relation, score)`` for each pair: relations whose logit beats the threshold logit (column 0).

    ``logits`` is ``[pairs, 1 + relations]``. A relation not allowed by ``mask`` for the pair's entity types is never
    emitted, whatever its logit. The score is ``sigmoid(logit - threshold)``; at most ``top_k`` per pair.
    """
    found: list[tuple[int, int, int, float]] = []
    if len(pairs) == 0:
        return found
    logits = np.asarray(logits, dtype=np.float64)
    heads = np.asarray([entity_type_ids[h] for h, _ in pairs])
    tails = np.asarray([entity_type_ids[t] for _, t in pairs])
    allowed = mask[:, heads, tails].T  # [pairs, relations]
    margin = logits[:, 1:] - logits[:, :1]
    margin = np.where(allowed, margin, -np.inf)
    for p, (h, t) in enumerate(pairs):
        hits = np.flatnonzero(margin[p] > 0)
        if hits.size == 0:
            continue
        hits = hits[np.argsort(-margin[p, hits])]
        if top_k is not None:
            hits = hits[:top_k]
        for r in hits:
            found.append((h, t, int(r), float(1.0 / (1.0 + np.exp(-margin[p, r])))))
    return found


def candidate_pairs(cluster_windows: Sequence[set[int]], type_ids: Sequence[int], pair_types: np.ndarray) -> list[tuple[int, int]]:
    """Ordered entity pairs worth scoring: both entities mentioned in a common window, and some relation of the
    schema allows their types (``pair_types[h, t]``). This bounds the work on long documents."""
    pairs = []
    for h in range(len(type_ids)):
        for t in range(len(type_ids)):
            if h != t and pair_types[type_ids[h], type_ids[t]] and cluster_windows[h] & cluster_windows[t]:
                pairs.append((h, t))
    return pairs


def evidence_sentences(head_sentences: set[int], tail_sentences: set[int]) -> tuple[int, ...]:
    """Sentences that mention both entities, else the closest pair of sentences mentioning one each."""
    both = head_sentences & tail_sentences
    if both:
        return tuple(sorted(both))
    if not head_sentences or not tail_sentences:
        return tuple(sorted(head_sentences | tail_sentences))
    h, t = min(((h, t) for h in head_sentences for t in tail_sentences), key=lambda ht: (abs(ht[0] - ht[1]), ht))
    return tuple(sorted({h, t}))
