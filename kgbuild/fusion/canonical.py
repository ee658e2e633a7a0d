"""Canonical names, aliases and ids of fused entities, chosen so that arrival order does not matter.

The canonical name is a function of the *set* of surface names only (no counts, no order), so an
entity built from documents one at a time gets the name it would get from all of them at once: the
most complete proper name, i.e. the most words once honorifics and legal suffixes are set aside, then the
longest, then the alphabetically first. "Sherlock Holmes" beats "Mr. Holmes"; "International Business
Machines" beats "IBM". Two kinds of name lose to any other first:

* a fragment: a span that ends (or starts) with a lower-case function word, "Sunol Valley via";
* a nickname: when at least two names of the set share a word, a name sharing no word with any other
  ("Hands of Stone" beside "Roberto Duran" and "Duran"; "Iron Lady" beside "Margaret Thatcher", "Thatcher");
* an adjective of another name: one word made from another one-word name of the set by a demonym ending
  ("Romanian" beside "Romania", "Canadian" beside "Canada", "Chinese" beside "China"). The extractor's in-document
  coreference (trained on Re-DocRED, which clusters demonyms with their country) joins them; the place is the name.
"""

from __future__ import annotations

from typing import Iterable

from kgbuild import names as N
from kgbuild.fusion.aliases import adjective_of, ends_with_function_word
from kgbuild.records import content_id


def name_rank(name: str) -> tuple[int, int, int, int, int, str]:
    """Sort key: smaller is a better canonical name (without looking at the other names)."""
    norm = N.normalize(name)
    has_capital = any(ch.isupper() for ch in name)
    all_caps = name.isupper() and len(norm.replace(" ", "")) > 1
    fragment = ends_with_function_word(name)
    return (1 if fragment else 0, 0 if has_capital else 1, -len(norm.split()), 1 if all_caps else 0, -len(norm), name)


def _nicknames(names: set[str]) -> set[str]:
    """Names that share no word with any other name, when some other two names do share one; an expansion
    of another name's acronym ("National Association of Purchasing Management" / "NAPM") is no nickname."""
    words = {n: set(N.normalize(n).split()) for n in names}
    compact = {N.compact(n) for n in names if N.is_acronym_like(n)}
    linked = {n for n in names if any(words[n] & words[m] for m in names if m != n) or N.acronym(n) in compact}
    return names - linked if len(linked) >= 2 else set()


def _adjectives(names: set[str]) -> set[str]:
    """One-word names that are the adjective of another one-word name of the set ("Romanian" beside "Romania")."""
    words = {n: N.normalize(n) for n in names}
    return {n for n in names if any(adjective_of(words[n], words[m]) for m in names if m != n)}


def canonical_name(surfaces: Iterable[str]) -> str:
    """The canonical name of a set of surface names (empty names ignored)."""
    names = {s.strip() for s in surfaces if s and s.strip()}
    nicknames = _nicknames(names) if len(names) > 2 else set()
    adjectives = _adjectives(names) if len(names) > 1 else set()
    candidates = sorted(names, key=lambda n: (n in nicknames or n in adjectives, name_rank(n)))
    return candidates[0] if candidates else ""


def aliases(surfaces: Iterable[str], name: str) -> tuple[str, ...]:
    """Every other distinct surface form, sorted: what the entity is also called."""
    return tuple(sorted({s.strip() for s in surfaces if s and s.strip()} - {name}))


def entity_id(type_name: str, first_mention_key: str) -> str:
    """A stable entity id: its type and the smallest (document, offset) key among its first mentions."""
    return content_id(type_name, first_mention_key, prefix="ent_")


def mention_key(doc_id: str, start: int, end: int) -> str:
    """A key that orders mentions by document, then offset (zero-padded so strings sort like numbers)."""
    return f"{doc_id}\x1f{start:012d}\x1f{end:012d}"
