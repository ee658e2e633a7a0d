"""The Fuser on hand-made documents with the real all-MiniLM-L6-v2 model (loaded once per session)."""

from __future__ import annotations

import json
import random

import pytest

from kgbuild.fusion import Fuser
from kgbuild.records import FusedBatch
from tests.fixtures.fusion import make_document

IBM_LONG = make_document(
    "International Business Machines, also called IBM, builds mainframe computers in Armonk. "
    "Arvind Krishna leads International Business Machines from New York.",
    [("ORG", ["International Business Machines", "IBM", "International Business Machines"]),
     ("LOC", ["Armonk"]), ("PER", ["Arvind Krishna"]), ("LOC", ["New York"])],
    relations=[(1, 0, "P19"), (2, 0, "P108"), (0, 1, "P159")],
    source="ibm-1",
)
IBM_SHORT = make_document(
    "IBM opened a research laboratory for computers in Zurich. Arvind Krishna said IBM would hire scientists.",
    [("ORG", ["IBM", "IBM"]), ("LOC", ["Zurich"]), ("PER", ["Arvind Krishna"])],
    relations=[(2, 0, "P108"), (0, 1, "P159")],
    source="ibm-2",
)
IBM_FULL = make_document(
    "International Business Machines sold its laptop business. Analysts said International Business Machines "
    "wanted to focus on servers.",
    [("ORG", ["International Business Machines", "International Business Machines"])],
    source="ibm-3",
)


def entity_of(fused: FusedBatch, doc_id: str, text: str) -> str:
    """The entity id of the first mention of ``text`` in document ``doc_id``."""
    for link in sorted(fused.mentions, key=lambda m: m.start):
        if link.doc_id == doc_id and link.text == text:
            return link.entity_id
    raise AssertionError(f"no mention {text!r} in {doc_id}")


@pytest.fixture(scope="module")
def fuser(default_schema, fusion_embedder) -> Fuser:
    return Fuser(default_schema, model=fusion_embedder)


def test_an_entity_known_by_both_names_absorbs_either_name_elsewhere(fuser: Fuser) -> None:
    batch = [IBM_LONG, IBM_SHORT, IBM_FULL]
    fused = fuser(batch)
    ids = {entity_of(fused, doc.document.id, name) for (doc, _), name in zip(batch, ["IBM", "IBM", "International Business Machines"])}
    assert len(ids) == 1
    (ibm,) = [e for e in fused.entities if e.id in ids]
    assert ibm.name == "International Business Machines"
    assert ibm.aliases == ("IBM",)
    assert ibm.mention_count == 7
    assert ibm.type == "Organization"
    # the same person in two documents is one entity too
    people = [e for e in fused.entities if e.type == "Person"]
    assert len(people) == 1 and people[0].mention_count == 2


def test_acronym_and_full_name_merge_inside_a_document_when_fusion_resolves_coreference(default_schema, fusion_embedder) -> None:
    doc, extraction = IBM_LONG
    singletons = type(extraction)(extraction.doc_id, extraction.mentions, tuple((i,) for i in range(len(extraction.mentions))), ())
    fused = Fuser(default_schema, model=fusion_embedder, must_not_link=False)([(doc, singletons)])
    assert len({entity_of(fused, doc.document.id, n) for n in ("IBM", "International Business Machines")}) == 1
    assert entity_of(fused, doc.document.id, "Armonk") != entity_of(fused, doc.document.id, "New York")


def test_same_name_different_type_never_merges(fuser: Fuser) -> None:
    person = make_document("Jordan scored thirty points for the Bulls last night.", [("PER", ["Jordan"])], source="p")
    country = make_document("Jordan borders Israel and Saudi Arabia in the Middle East.", [("LOC", ["Jordan"]), ("LOC", ["Israel"]), ("LOC", ["Saudi Arabia"])], source="c")
    again = make_document("Jordan won six championships with the Bulls.", [("PER", ["Jordan"])], source="p2")
    fused = fuser([person, country, again])
    jordans = [e for e in fused.entities if e.name == "Jordan"]
    assert sorted(e.type for e in jordans) == ["Location", "Person"]
    assert entity_of(fused, person[0].document.id, "Jordan") == entity_of(fused, again[0].document.id, "Jordan")


def test_entities_the_extractor_kept_apart_in_a_document_stay_apart(fuser: Fuser) -> None:
    # two different George Bushes in one document (extractor: two clusters); a second document names one
    both = make_document(
        "George Bush was the 41st president. His son George Bush was the 43rd president.",
        [("PER", ["George Bush"]), ("PER", ["George Bush"])],
        source="bushes",
    )
    one = make_document("George Bush was the 41st president of the United States.", [("PER", ["George Bush"]), ("LOC", ["United States"])], source="bush")
    fused = fuser([both, one])
    doc_id = both[0].document.id
    links = sorted((m for m in fused.mentions if m.doc_id == doc_id), key=lambda m: m.start)
    assert links[0].entity_id != links[1].entity_id
    assert entity_of(fused, one[0].document.id, "George Bush") in {links[0].entity_id, links[1].entity_id}


def test_records_point_to_chunks_and_offsets_and_facts_respect_the_schema(fuser: Fuser, default_schema) -> None:
    fused = fuser([IBM_LONG, IBM_SHORT])
    chunk_ids = {s.chunk_id: s for doc in fused.documents for s in doc.sentences}
    texts = {doc.document.id: doc.document.text for doc in fused.documents}
    for link in fused.mentions:
        assert texts[link.doc_id][link.start : link.end] == link.text
        sentence = chunk_ids[link.chunk_id]
        assert sentence.start <= link.start < sentence.end
    assert len(fused.mentions) == sum(len(ex.mentions) for _, ex in (IBM_LONG, IBM_SHORT))
    by_id = {e.id: e for e in fused.entities}
    kinds = {(by_id[f.head_id].type, f.type, by_id[f.tail_id].type) for f in fused.facts}
    for head, rel, tail in kinds:
        assert default_schema.allows(rel, head, tail)
    employer = [f for f in fused.facts if f.type == default_schema.relation_for_label("P108")]
    assert len(employer) == 1, "the same fact from two documents is aggregated"
    assert set(employer[0].doc_ids) == {IBM_LONG[0].document.id, IBM_SHORT[0].document.id}
    assert employer[0].score == pytest.approx(0.8)
    assert fuser.dropped["relation not allowed for these entity types"] >= 1  # P19 (place of birth) from a Location
    for entity in fused.entities:
        assert entity.embedding is not None and abs(sum(x * x for x in entity.embedding) - 1) < 1e-4


def test_batch_order_does_not_change_the_entities(fuser: Fuser) -> None:
    batch = [IBM_LONG, IBM_SHORT, IBM_FULL]
    first = fuser(batch)
    shuffled = batch[:]
    random.Random(3).shuffle(shuffled)
    second = fuser(shuffled)
    assert [(e.id, e.name, e.aliases, e.mention_count) for e in first.entities] == [
        (e.id, e.name, e.aliases, e.mention_count) for e in second.entities
    ]
    assert set(first.mentions) == set(second.mentions)
    assert set(first.facts) == set(second.facts)


def test_untyped_entities_are_dropped_with_a_reason(default_schema, fusion_embedder) -> None:
    doc = make_document("Widget Corp sells gadgets.", [("GADGET", ["Widget Corp"])], source="w")
    fuser = Fuser(default_schema, model=fusion_embedder)
    fused = fuser([doc])
    assert fused.entities == () and fused.mentions == ()
    assert fuser.dropped["entity type not in schema"] == 1


def test_empty_batch(fuser: Fuser) -> None:
    fused = fuser([])
    assert fused == FusedBatch((), (), (), ())


def test_settings_beside_the_model_are_used(default_schema, tmp_path) -> None:
    from kgbuild.fusion import default_config

    settings = default_config()
    data = json.loads(settings.to_json())
    data["context_weight"] = 0.1
    (tmp_path / "fusion.json").write_text(json.dumps(data))
    assert Fuser(default_schema, model=tmp_path).config.context_weight == 0.1  # the model itself loads lazily
    assert Fuser(default_schema, model=tmp_path, thresholds=settings).config.context_weight == settings.context_weight
