"""Decoders on hand-set inputs: BIO spans, alias grouping, average-linkage clustering, schema-respecting relations."""

from __future__ import annotations

import numpy as np
import pytest

from kgbuild.extract.decode import (
    alias_match,
    allowed_mask,
    bio_labels_for,
    bio_to_spans,
    candidate_pairs,
    cluster_by_scores,
    decode_relations,
    evidence_sentences,
    group_by_alias,
    string_features,
)
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema

CONLL04 = load_schema(REPO_ROOT / "schemas" / "conll04.yaml")
TYPES = list(CONLL04.entity_names)  # Person, Organization, Location, Other
RELATIONS = list(CONLL04.relation_names)  # WORK_FOR, KILL, ORG_BASED_IN, LIVE_IN, LOCATED_IN


def test_bio_tag_set_follows_schema_order():
    assert bio_labels_for(["Person", "Location"]) == ["O", "B-Person", "I-Person", "B-Location", "I-Location"]


@pytest.mark.parametrize(
    "tags, spans",
    [
        (["B-Person", "I-Person", "O", "B-Location"], [(0, 2, "Person"), (3, 4, "Location")]),
        (["O", "I-Person", "I-Person"], [(1, 3, "Person")]),  # lenient: I- after O starts a span
        (["B-Person", "I-Location"], [(0, 1, "Person"), (1, 2, "Location")]),  # type change splits
        (["B-Person", "B-Person"], [(0, 1, "Person"), (1, 2, "Person")]),
        (["O", "O"], []),
        ([], []),
    ],
)
def test_bio_to_spans(tags, spans):
    assert [s[:3] for s in bio_to_spans(tags)] == spans


def test_bio_span_score_is_mean_of_word_scores():
    (span,) = bio_to_spans(["B-Person", "I-Person"], [0.9, 0.5])
    assert span[3] == pytest.approx(0.7)


def test_schema_mask_matches_domain_and_range():
    mask = allowed_mask(CONLL04, TYPES, RELATIONS)
    person, org, loc = TYPES.index("Person"), TYPES.index("Organization"), TYPES.index("Location")
    assert mask[RELATIONS.index("WORK_FOR"), person, org]
    assert not mask[RELATIONS.index("WORK_FOR"), org, person]
    assert not mask[RELATIONS.index("KILL"), person, loc]
    assert mask.sum() == 5  # each CoNLL04 relation has exactly one (domain, range) pair


def test_schema_violating_relations_are_never_emitted():
    mask = allowed_mask(CONLL04, TYPES, RELATIONS)
    person, org = TYPES.index("Person"), TYPES.index("Organization")
    entity_types = [person, org]
    pairs = [(0, 1), (1, 0)]
    logits = np.full((2, 1 + len(RELATIONS)), -5.0)
    logits[:, 0] = 0.0  # threshold
    logits[:, 1 + RELATIONS.index("WORK_FOR")] = 9.0  # Person->Org fits; Org->Person does not
    logits[:, 1 + RELATIONS.index("KILL")] = 9.0  # Person->Person only: never fits here
    found = decode_relations(logits, pairs, entity_types, mask, top_k=None)
    assert [(h, t, RELATIONS[r]) for h, t, r, _ in found] == [(0, 1, "WORK_FOR")]
    assert found[0][3] == pytest.approx(1 / (1 + np.exp(-9.0)))


def test_adaptive_threshold_decides_per_pair_and_top_k_caps():
    mask = np.ones((3, 1, 1), dtype=bool)
    logits = np.array([[1.0, 0.5, 2.0, 3.0], [1.0, 0.9, 0.99, 0.0]])
    found = decode_relations(logits, [(0, 1), (1, 0)], [0, 0], mask, top_k=1)
    assert [(h, t, r) for h, t, r, _ in found] == [(0, 1, 2)]  # pair 2: nothing beats its threshold
    assert len(decode_relations(logits, [(0, 1), (1, 0)], [0, 0], mask, top_k=None)) == 2


def test_candidate_pairs_need_a_shared_window_and_an_allowed_type_pair():
    pair_types = allowed_mask(CONLL04, TYPES, RELATIONS).any(axis=0)
    person, org, other = TYPES.index("Person"), TYPES.index("Organization"), TYPES.index("Other")
    pairs = candidate_pairs([{0}, {0, 1}, {1}, {0}], [person, org, org, other], pair_types)
    assert pairs == [(0, 1)]  # (0, 2): no shared window; Other takes part in no relation


def test_surface_key_and_features():
    from kgbuild import names as N

    assert N.surface_key("The  U.S.") == "u s"
    assert N.surface_key("Mediaș") == "medias"
    assert N.surface_key("IBM Corp.") == "ibm corp" and N.normalize("IBM Corp.") == "ibm"  # two keys, two jobs
    same = string_features("Barack Obama", "barack obama")
    assert same[0] == 1.0 and same[1] == 1.0
    assert string_features("IBM", "International Business Machines")[2] == 1.0
    assert string_features("Paris", "Berlin")[:5] == [0.0] * 5


@pytest.mark.parametrize(
    "a, b, type_, expected",
    [
        ("Barack Obama", "Obama", "Person", True),
        ("Barack Obama", "barack obama", "Location", True),
        ("IBM", "International Business Machines", "Organization", True),
        ("Obama", "Obama Foundation", "Organization", False),
        ("Washington", "George Washington", "Location", False),
    ],
)
def test_alias_match(a, b, type_, expected):
    assert alias_match(a, b, type_) is expected


def test_group_by_alias_never_crosses_types():
    texts = ["Barack Obama", "Obama", "Obama", "Chicago", "Barack Obama"]
    types = ["Person", "Person", "Organization", "Location", "Person"]
    assert group_by_alias(texts, types) == [[0, 1, 4], [2], [3]]


def test_average_linkage_refuses_a_chain_with_one_strong_link():
    # 0-1 strong, 1-2 strong, 0-2 very weak: average 0-{1,2} link is (0.9 + 0.0) / 2 < 0.5
    assert cluster_by_scores(3, [(0, 1), (1, 2), (0, 2)], [0.95, 0.9, 0.0]) == [[0, 1], [2]]
    assert cluster_by_scores(3, [(0, 1), (1, 2), (0, 2)], [0.95, 0.9, 0.8]) == [[0, 1, 2]]
    assert cluster_by_scores(2, [], []) == [[0], [1]]


def test_evidence_prefers_shared_sentences_then_nearest_pair():
    assert evidence_sentences({0, 2}, {2, 3}) == (2,)
    assert evidence_sentences({0, 5}, {3}) == (3, 5)
    assert evidence_sentences(set(), {1}) == (1,)


def test_touching_spans_of_one_type_are_one_mention():
    from kgbuild.extract.decode import join_touching

    text = "Majmal-ut-Tawarikh and Paris-London"
    spans = [(0, 9, "Misc", 0.9), (9, 18, "Misc", 0.7), (23, 28, "Location", 0.8), (28, 35, "Misc", 0.6)]
    joined = join_touching(spans)
    assert [text[s:e] for s, e, _, _ in joined] == ["Majmal-ut-Tawarikh", "Paris", "-London"]
    assert joined[0] == (0, 18, "Misc", 0.7)  # the lower score
    assert join_touching([(0, 5, "Person", 0.9), (6, 9, "Person", 0.9)]) == [(0, 5, "Person", 0.9), (6, 9, "Person", 0.9)]
