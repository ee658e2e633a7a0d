"""Canonical names, aliases and ids of fused entities, chosen so that arrival order does not matter.

The canonical name is a function of the *set* of surface names only (no counts, no order), so an
entity built from documents one at a time gets the name it would get from all of them at once: the
most complete form, i.e. the most words once honorifics and legal suffixes are set aside, then the
longest, then the alphabetically first. "Sherlock Holmes" beats "Mr. Holmes"; "International Business
Machines" beats "IBM".
"""

from __future__ import annotations

from typing import Iterable

from kgbuild import names as N
from kgbuild.records import content_id


def name_rank(name: str) -> tuple[int, int, int, int, str]:
    """Sort key: smaller is a better canonical name."""
    norm = N.normalize(name)
    has_capital = any(ch.isupper() for ch in name)
    all_caps = name.isupper() and len(norm.replace(" ", "")) > 1
    return (0 if has_capital else 1, -len(norm.split()), 1 if all_caps else 0, -len(norm), name)


def canonical_name(surfaces: Iterable[str]) -> str:
    """The canonical name of a set of surface names (empty names ignored)."""
    candidates = sorted({s.strip() for s in surfaces if s and s.strip()}, key=name_rank)
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
