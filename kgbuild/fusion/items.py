"""The table of things fusion clusters: in-document entities ("units") and entities already in the graph.

Columnar (numpy arrays plus a CSR list of names) so that blocking, scoring and clustering stay
vectorised from a handful of items up to a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kgbuild import names as N
from kgbuild.fusion.aliases import country_code, person_tokens, singular

# At most this many names per item take part in string features (the first is the preferred name).
NAME_CAP = 8
NO_GROUP = -1


@dataclass(frozen=True)
class NameTable:
    """Distinct surface names with their normalised forms, interned to integer ids."""

    surfaces: list[str]
    normalized: list[str]
    norm_id: np.ndarray  # (n_names,) id of the normalised form
    singular_id: np.ndarray  # (n_names,) id of the normalised form with a plural folded (aliases.singular)
    acronym_id: np.ndarray  # (n_names,) id of the acronym (-1: none), same id space as compact_id
    compact_id: np.ndarray  # (n_names,) id of the name without spaces if it is written like an acronym, else -2
    first_id: np.ndarray  # (n_names,) id of the first word of the name read as a person name (-1: none)
    last_id: np.ndarray  # (n_names,) id of its last word (family name; the word itself for one-word names)
    initial_id: np.ndarray  # (n_names,) id of the first word's first letter
    n_words: np.ndarray  # (n_names,) words of the name read as a person name
    words: list[str]  # the strings of first_id / last_id / initial_id

    @staticmethod
    def build(surfaces: list[str]) -> "NameTable":
        strings: dict[str, int] = {}
        norms: dict[str, int] = {}
        # every common form of one country normalises to one key ("U.S." = "United States" = "America")
        normalized = [N.normalize(s) for s in surfaces]
        keys = [f"\x00country {code}" if (code := country_code(s)) else n for s, n in zip(surfaces, normalized)]
        # a name with nothing left after normalisation (only punctuation) equals no other name
        norm_id = np.fromiter(
            (norms.setdefault(n, len(norms)) if n else -3 - i for i, n in enumerate(keys)), np.int64, len(surfaces)
        )
        singular_id = np.fromiter(
            (norms.setdefault(singular(k), len(norms)) if n else -3 - i for i, (n, k) in enumerate(zip(normalized, keys))),
            np.int64,
            len(surfaces),
        )
        acr = np.fromiter(
            (strings.setdefault(a, len(strings)) if (a := N.acronym(s)) else -1 for s in surfaces), np.int64, len(surfaces)
        )
        cmp = np.fromiter(
            (strings.setdefault(N.compact(s), len(strings)) if N.is_acronym_like(s) else -2 for s in surfaces),
            np.int64,
            len(surfaces),
        )
        words: dict[str, int] = {}
        tokens = [person_tokens(s) for s in surfaces]
        first = np.fromiter((words.setdefault(t[0], len(words)) if t else -1 for t in tokens), np.int64, len(surfaces))
        last = np.fromiter((words.setdefault(t[-1], len(words)) if t else -1 for t in tokens), np.int64, len(surfaces))
        initial = np.fromiter((words.setdefault(t[0][0], len(words)) if t else -1 for t in tokens), np.int64, len(surfaces))
        n_words = np.fromiter((len(t) for t in tokens), np.int64, len(surfaces))
        return NameTable(surfaces, normalized, norm_id, singular_id, acr, cmp, first, last, initial, n_words, list(words))


@dataclass(frozen=True)
class ItemTable:
    """n items: stable keys, a type, names, a unit-norm embedding, a document and a cannot-link group.

    Two items with the same ``groups`` value (>= 0) are never merged: different in-document entities of
    one document, or two entities already in the graph. ``docs`` (-1: none) marks same-document pairs.
    """

    keys: list[str]
    types: np.ndarray  # (n,) index into type_names
    type_names: list[str]
    name_ptr: np.ndarray  # (n + 1,) CSR offsets into name_ids
    name_ids: np.ndarray  # indices into names.surfaces
    names: NameTable
    embeddings: np.ndarray  # (n, d) float32, rows of unit norm
    docs: np.ndarray  # (n,) int64
    groups: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.keys)

    @staticmethod
    def build(
        keys: Sequence[str],
        types: Sequence[str],
        item_names: Sequence[Sequence[str]],
        embeddings: np.ndarray,
        docs: Sequence[int] | np.ndarray,
        groups: Sequence[int] | np.ndarray,
    ) -> "ItemTable":
        """Intern names and types; embeddings are re-normalised to unit length."""
        n = len(keys)
        if not (len(types) == len(item_names) == len(embeddings) == len(docs) == len(groups) == n):
            raise ValueError("all item columns must have the same length")
        type_names = sorted(set(types))
        type_index = {t: i for i, t in enumerate(type_names)}
        surface_index: dict[str, int] = {}
        ptr = np.zeros(n + 1, np.int64)
        ids: list[int] = []
        for i, item in enumerate(item_names):
            kept = list(dict.fromkeys(s for s in item if s))[:NAME_CAP] or [""]
            ids.extend(surface_index.setdefault(s, len(surface_index)) for s in kept)
            ptr[i + 1] = len(ids)
        emb = np.asarray(embeddings, dtype=np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True) if len(emb) else np.ones((0, 1), np.float32)
        emb = emb / np.maximum(norms, 1e-12)
        return ItemTable(
            keys=list(keys),
            types=np.fromiter((type_index[t] for t in types), np.int64, n),
            type_names=type_names,
            name_ptr=ptr,
            name_ids=np.asarray(ids, np.int64),
            names=NameTable.build(list(surface_index)),
            embeddings=np.ascontiguousarray(emb),
            docs=np.asarray(docs, np.int64),
            groups=np.asarray(groups, np.int64),
        )

    def item_names(self, i: int) -> list[str]:
        return [self.names.surfaces[k] for k in self.name_ids[self.name_ptr[i] : self.name_ptr[i + 1]]]


def take(items: ItemTable, order: np.ndarray) -> ItemTable:
    """The items in a new order (names, types and the name table are shared, not copied)."""
    counts = np.diff(items.name_ptr)[order]
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    starts = items.name_ptr[order]
    flat = np.repeat(starts, counts) + (np.arange(int(counts.sum())) - np.repeat(ptr[:-1], counts))
    return ItemTable(
        keys=[items.keys[i] for i in order],
        types=items.types[order],
        type_names=items.type_names,
        name_ptr=ptr,
        name_ids=items.name_ids[flat],
        names=items.names,
        embeddings=items.embeddings[order],
        docs=items.docs[order],
        groups=items.groups[order],
    )
