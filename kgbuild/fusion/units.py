"""From extractions to units: one unit per in-document entity (a cluster of mentions), typed by the schema.

Two corrections of the extractor's clusters happen here, inside each document, before fusion:

* a Person cluster whose names could not name one person ("Lebed" and "Yeltsin") is split into clusters of
  compatible names (the most complete name keeps the cluster's relations); a cluster of an organisation, place or
  work is split into groups of related names (``aliases.names_related``: the extractor's coreference had joined
  "Cofinec" with "Budapest Stock Exchange", "CRICKET" with "Sri Lanka" in a news build), and one of dates or
  numbers into values written alike ("$1.2 million" and "$12 million" were one);
* clusters of one type are joined when a name of one is, in that document, unambiguously another's alias:
  the same name (not a person's, nor a date or number: "World Series of Golf" twice, which the default model's
  coreference had kept apart in a news story; the extractor's word on two people of one name stands), the same
  country ("U.S." / "United States"), a surname alone and the one full name there that ends in it ("Woods" /
  "Tiger Woods"), an acronym and the one name there whose initials it spells ("IBM" / "International Business
  Machines").

Also finds each mention's sentence: the chunk its provenance points to, and the context it is embedded with.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

from kgbuild import names as N
from kgbuild.errors import InputError
from kgbuild.fusion.aliases import (
    LITERAL,
    PERSON,
    country_code,
    name_kind,
    names_related,
    person_tokens,
    persons_compatible,
)
from kgbuild.fusion.canonical import canonical_name, mention_key, name_rank
from kgbuild.records import Extraction, Mention, SegmentedDocument, Sentence
from kgbuild.schema.models import Schema

T = TypeVar("T")

CONTEXT_CHARS = 300  # context around a mention when the document has no sentence containing it


@dataclass(frozen=True, slots=True)
class Unit:
    """An in-document entity: mentions of one cluster of one document, with one schema type."""

    doc: int  # index of the document in the batch
    cluster: int  # index into Extraction.clusters (-1 - i for a mention left out of every cluster)
    type: str
    mentions: tuple[int, ...]  # indices into Extraction.mentions, by offset
    key: str  # mention_key of its first mention: a stable, order-free identity
    clusters: tuple[int, ...] = ()  # the extractor clusters whose relations this unit carries

    def names(self, extraction: Extraction) -> list[str]:
        """Its distinct surface names, the canonical one first."""
        surfaces = [extraction.mentions[m].text for m in self.mentions]
        best = canonical_name(surfaces)
        return [best, *sorted(set(surfaces) - {best})]


def schema_type(schema: Schema, label: str) -> str | None:
    """The schema's type name for an extractor label or type name; None when the schema lacks it."""
    try:
        return schema.entity_for_label(label)
    except KeyError:
        return None


def collect_units(
    batch: Sequence[tuple[SegmentedDocument, Extraction]], schema: Schema, dropped: Counter[str]
) -> list[Unit]:
    """Every in-document entity of the batch, in batch order; untyped ones are counted in ``dropped``."""
    units: list[Unit] = []
    for d, (doc, extraction) in enumerate(batch):
        if extraction.doc_id != doc.document.id:
            raise InputError(
                f"document {doc.document.id!r}: its extraction is for document {extraction.doc_id!r}; "
                "pair each SegmentedDocument with its own Extraction"
            )
        seen: set[int] = set()
        groups: list[tuple[int, tuple[int, ...]]] = []
        for c, cluster in enumerate(extraction.clusters):
            members = tuple(m for m in dict.fromkeys(cluster) if 0 <= m < len(extraction.mentions) and m not in seen)
            seen.update(members)
            if members:
                groups.append((c, members))
        for m in range(len(extraction.mentions)):
            if m not in seen:  # the contract says every mention is in a cluster; keep strays as entities of their own
                groups.append((-1 - m, (m,)))
        for c, members in groups:
            ordered = tuple(sorted(members, key=lambda m: (extraction.mentions[m].start, extraction.mentions[m].end)))
            labels = [extraction.mentions[m].type for m in ordered]
            majority = max(dict.fromkeys(labels), key=labels.count)
            type_name = schema_type(schema, majority)
            if type_name is None:
                dropped["entity type not in schema"] += 1
                continue
            kind = name_kind(type_name, tuple(schema.entity(type_name).labels))
            parts = split_person_names(extraction, ordered) if kind == PERSON else \
                split_unrelated_names(extraction, ordered, same_value if kind == LITERAL else names_related)
            for k, part in enumerate(parts):
                first = extraction.mentions[part[0]]
                key = mention_key(doc.document.id, first.start, first.end)
                units.append(Unit(d, c if k == 0 else _sub_cluster(c, k), type_name, part, key, (c,) if k == 0 else ()))
        units[start_of_doc(units, d) :] = join_in_document(extraction, units[start_of_doc(units, d) :], schema)
    return units


def start_of_doc(units: list[Unit], d: int) -> int:
    """Index of the first unit of document ``d`` (units are appended document by document)."""
    i = len(units)
    while i > 0 and units[i - 1].doc == d:
        i -= 1
    return i


def _sub_cluster(c: int, k: int) -> int:
    """An id for the k-th part of a split cluster that no extractor cluster or stray mention uses."""
    return -(1 << 40) - (c << 8) - k


def compatible_groups(items: Sequence[T], compatible: Callable[[T, T], bool]) -> list[list[T]]:
    """Greedy groups in which every two items are ``compatible``: each item, in the order given, joins the first
    group it fits whole, else starts one. No chaining: A~B and B~C do not put A with C unless A~C."""
    groups: list[list[T]] = []
    for item in items:
        for group in groups:
            if all(compatible(item, other) for other in group):
                group.append(item)
                break
        else:
            groups.append([item])
    return groups


def split_person_names(extraction: Extraction, members: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Mentions of one Person cluster in groups whose names are pairwise compatible, most complete name first."""
    texts = {m: extraction.mentions[m].text for m in members}
    if len({person_tokens(t) for t in texts.values()}) < 2:
        return [members]
    groups = compatible_groups(sorted(members, key=lambda m: (-len(person_tokens(texts[m])), -len(texts[m]), texts[m], m)),
                               lambda m, o: persons_compatible(texts[m], texts[o]))
    if len(groups) == 1:
        return [members]
    by_offset = lambda m: (extraction.mentions[m].start, extraction.mentions[m].end)  # noqa: E731
    return [tuple(sorted(g, key=by_offset)) for g in groups]


def same_value(a: str, b: str) -> bool:
    """Two dates or numbers are one only when written alike ("$1.2 million" is not "$12 million")."""
    return N.normalize(a) == N.normalize(b)


def split_unrelated_names(extraction: Extraction, members: tuple[int, ...],
                          related: Callable[[str, str], bool] = names_related) -> list[tuple[int, ...]]:
    """Mentions of one cluster in groups whose names are pairwise ``related`` (no chaining: "Cofinec" and "GDRs"
    stay apart although "Cofinec GDRs" is related to both), the most frequent name placed first; the group holding
    the most mentions (then the most complete name) comes first, so that it keeps the cluster's relations."""
    texts = {m: extraction.mentions[m].text for m in members}
    counts = Counter(texts.values())
    if len(counts) < 2:
        return [members]
    groups = compatible_groups(sorted(counts, key=lambda n: (-counts[n], -len(n), n)), related)
    if len(groups) == 1:
        return [members]
    group_of = {name: g for g, group in enumerate(groups) for name in group}
    parts: list[list[int]] = [[] for _ in groups]
    for m in members:  # members come by offset, so each part does too
        parts[group_of[texts[m]]].append(m)
    ranked = sorted(parts, key=lambda g: (-len(g), name_rank(canonical_name(texts[m] for m in g))))
    return [tuple(g) for g in ranked]


def _alias_targets(extraction: Extraction, units: list[Unit], person: set[int], literal: set[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of this document's units that one name makes the same entity (see the module doc)."""
    names = [{extraction.mentions[m].text for m in u.mentions} for u in units]
    pairs: list[tuple[int, int]] = []
    by_country: dict[tuple[str, str], list[int]] = {}
    for i, u in enumerate(units):
        for code in {country_code(n) for n in names[i]} - {""}:
            by_country.setdefault((u.type, code), []).append(i)
    for members in by_country.values():
        pairs += [(members[0], j) for j in members[1:]]
    by_name: dict[tuple[str, str], list[int]] = {}
    for i, u in enumerate(units):
        if u.type in literal or i in person:
            continue  # "four" and "four" may count different things; two George Bushes of one story are two people
        for name in {N.normalize(n) for n in names[i]} - {""}:
            by_name.setdefault((u.type, name), []).append(i)
    for members in by_name.values():
        pairs += [(members[0], j) for j in members[1:]]
    for i, u in enumerate(units):
        tokens = {person_tokens(n) for n in names[i]}
        if i in person and all(len(t) == 1 for t in tokens) and len(tokens) == 1:
            (surname,) = next(iter(tokens))
            full = [
                j for j, v in enumerate(units)
                if j in person and v.type == u.type and any(len(t) > 1 and t[-1] == surname for t in map(person_tokens, names[j]))
            ]
            full_names = sorted({n for j in full for n in names[j] if len(person_tokens(n)) > 1})
            if full_names and all(persons_compatible(x, y) for x in full_names for y in full_names):
                pairs += [(i, j) for j in full]
        short = {N.compact(n) for n in names[i] if N.is_acronym_like(n)}
        if short:
            expansions = [
                j for j, v in enumerate(units) if j != i and v.type == u.type and any(N.acronym(n) in short for n in names[j])
            ]
            if len(expansions) == 1:
                pairs.append((i, expansions[0]))
    return pairs


def join_in_document(extraction: Extraction, units: list[Unit], schema: Schema) -> list[Unit]:
    """Join units of one document that an unambiguous alias links (countries, surnames, acronyms)."""
    if len(units) < 2:
        return units
    kinds = {t: name_kind(t, tuple(schema.entity(t).labels)) for t in {u.type for u in units}}
    person = {i for i, u in enumerate(units) if kinds[u.type] == PERSON}
    literal = {t for t, kind in kinds.items() if kind == LITERAL}
    from networkx.utils import UnionFind

    joined = UnionFind(range(len(units)))
    for i, j in _alias_targets(extraction, units, person, literal):
        joined.union(i, j)
    out: list[Unit] = []
    for group in sorted((sorted(g) for g in joined.to_sets()), key=lambda g: g[0]):
        members = [units[i] for i in group]
        if len(members) == 1:
            out.append(members[0])
            continue
        mentions = tuple(sorted({m for u in members for m in u.mentions}, key=lambda m: (extraction.mentions[m].start, extraction.mentions[m].end)))
        first = min(members, key=lambda u: u.key)
        clusters = tuple(c for u in members for c in u.clusters)
        out.append(Unit(first.doc, first.cluster, first.type, mentions, first.key, clusters))
    return out


class SentenceFinder:
    """The sentence holding a character offset (sentences sorted by start)."""

    def __init__(self, doc: SegmentedDocument) -> None:
        self.doc = doc
        self.sentences: list[Sentence] = sorted(doc.sentences, key=lambda s: s.start)
        self.starts = [s.start for s in self.sentences]

    def find(self, offset: int) -> Sentence | None:
        i = bisect.bisect_right(self.starts, offset) - 1
        if i < 0:
            return self.sentences[0] if self.sentences else None
        return self.sentences[i]

    def context(self, mention: Mention) -> str:
        """The mention's sentence, or a window of text around it when no sentence holds it."""
        sentence = self.find(mention.start)
        if sentence is not None and sentence.start <= mention.start < sentence.end:
            return sentence.text
        text = self.doc.document.text
        return text[max(0, mention.start - CONTEXT_CHARS // 2) : mention.end + CONTEXT_CHARS // 2]
