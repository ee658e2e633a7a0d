"""A tiny hand-checked corpus with exact character offsets, for the store contract tests.

Two documents share an organisation, a place and one fact; each also has entities and facts of its own,
so deleting one document has something to remove and something it must leave alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from kgbuild.records import Document, Entity, Fact, MentionLink, SegmentedDocument, Sentence

TEXT_A = "Ada Lovelace worked for Analytical Engines in London. Lovelace was born in London."
TEXT_B = "Alan Turing worked for Analytical Engines. The company is based in London."
INJECTION = "x'}) DETACH DELETE n //"
DIM = 384


def _vector(seed: str) -> tuple[float, ...]:
    rng = random.Random(seed)
    return tuple(rng.uniform(-1, 1) for _ in range(DIM))


def segment(text: str, source: str, title: str) -> SegmentedDocument:
    """Sentences split at '. ' (enough for these texts); offsets are exact."""
    doc = Document.from_text(text, source=source, title=title)
    sentences = []
    start = 0
    for index, piece in enumerate(text.split(". ")):
        end = start + len(piece) + (1 if not piece.endswith(".") else 0)
        end = min(end, len(text))
        sentences.append(Sentence(doc.id, index, start, end, text[start:end]))
        start = end + 1
    return SegmentedDocument(doc, tuple(sentences), (), ())


def span(doc: SegmentedDocument, entity_id: str, surface: str, occurrence: int = 0) -> MentionLink:
    """The ``occurrence``-th mention of ``surface`` in ``doc`` with its chunk (the sentence holding it)."""
    text = doc.document.text
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    end = start + len(surface)
    sentence = next(s for s in doc.sentences if s.start <= start and end <= s.end)
    return MentionLink(entity_id, sentence.chunk_id, doc.document.id, start, end, surface, 0.9)


@dataclass(frozen=True)
class Corpus:
    docs: tuple[SegmentedDocument, ...]
    entities: tuple[Entity, ...]
    mentions: tuple[MentionLink, ...]
    facts: tuple[Fact, ...]

    @property
    def a(self) -> SegmentedDocument:
        return self.docs[0]

    @property
    def b(self) -> SegmentedDocument:
        return self.docs[1]


def corpus() -> Corpus:
    a = segment(TEXT_A, "a.txt", "Ada")
    b = segment(TEXT_B, "b.txt", "Alan")
    mentions = (
        span(a, "ada", "Ada Lovelace"),
        span(a, "ada", "Lovelace", 1),
        span(a, "engines", "Analytical Engines"),
        span(a, "london", "London"),
        span(a, "london", "London", 1),
        span(b, "alan", "Alan Turing"),
        span(b, "engines", "Analytical Engines"),
        span(b, "london", "London"),
    )
    count = {eid: sum(m.entity_id == eid for m in mentions) for eid in ("ada", "alan", "engines", "london")}
    entities = (
        Entity("ada", "Person", "Ada Lovelace", ("Lovelace",), _vector("ada"), count["ada"]),
        Entity("alan", "Person", "Alan Turing", (), _vector("alan"), count["alan"]),
        Entity("engines", "Organization", "Analytical Engines", (), _vector("engines"), count["engines"]),
        Entity("london", "Location", "London", (), _vector("london"), count["london"]),
    )
    ca = [s.chunk_id for s in a.sentences]
    cb = [s.chunk_id for s in b.sentences]
    facts = (
        Fact("ada", "EMPLOYER", "engines", 0.9, (a.document.id,), (ca[0],)),
        Fact("ada", "PLACE_OF_BIRTH", "london", 0.8, (a.document.id,), (ca[1],)),
        Fact("alan", "EMPLOYER", "engines", 0.7, (b.document.id,), (cb[0],)),
        Fact("engines", "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY", "london", 0.6, (a.document.id,), (ca[0],)),
        Fact("engines", "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY", "london", 0.75, (b.document.id,), (cb[1],)),
    )
    return Corpus((a, b), entities, mentions, facts)


def write(store: object, c: Corpus) -> None:
    """Write a corpus in the order the pipeline's WriteStage uses."""
    store.upsert_documents(c.docs)  # type: ignore[attr-defined]
    store.upsert_entities(c.entities)  # type: ignore[attr-defined]
    store.upsert_mentions(c.mentions)  # type: ignore[attr-defined]
    store.upsert_facts(c.facts)  # type: ignore[attr-defined]
