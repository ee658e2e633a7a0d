"""Fusion's precision rules on real news: no chaining, person names that differ stay apart, countries in all
their forms resolve together, canonical names are complete names, and a graph built in two halves fuses like one
built at once. Documents: the hand-checked CoNLL-2003 eng.testa identity set (tests/data/fusion/)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from kgbuild.datasets.fusion_gold import cross_document_gold, load_gold
from kgbuild.evaluation.clustering import cluster_scores
from kgbuild.fusion import Fuser
from kgbuild.fusion.aliases import country_code, persons_compatible
from kgbuild.fusion.canonical import canonical_name
from kgbuild.fusion.cluster import constrained_clusters
from kgbuild.fusion.config import default_config
from kgbuild.fusion.items import ItemTable
from kgbuild.fusion.aliases import PERSON
from kgbuild.fusion.resolve import ambiguous_lone_names, cannot_links, link, resolve
from kgbuild.fusion.score import score_pairs
from kgbuild.graph.store import GraphStore
from kgbuild.graph.writer import WriteStage
from kgbuild.records import FusedBatch

GOLD = Path(__file__).resolve().parents[1] / "data" / "fusion" / "conll2003_testa_fusion.jsonl"


@pytest.fixture(scope="module")
def news(default_schema):
    return load_gold(GOLD, default_schema)


@pytest.fixture(scope="module")
def fused(news, default_schema, fusion_embedder) -> FusedBatch:
    return Fuser(default_schema, model=fusion_embedder)([(d.doc, d.extraction) for d in news])


def names_by_entity(fused: FusedBatch) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for link in fused.mentions:
        out[link.entity_id].add(link.text)
    return out


def entity_holding(fused: FusedBatch, text: str) -> set[str]:
    return {link.entity_id for link in fused.mentions if link.text == text}


def test_the_identity_gold_is_the_size_the_issue_asks_for(news) -> None:
    order, labels, _ = cross_document_gold(news)
    docs_of: dict[int, set[int]] = defaultdict(set)
    for (d, _), label in zip(order, labels):
        docs_of[label].add(d)
    assert len(news) >= 30 and sum(len(d.extraction.mentions) for d in news) >= 300
    assert sum(len(v) > 1 for v in docs_of.values()) >= 50  # people, places, organisations that recur


def test_a_chain_is_cut_where_two_members_may_not_meet() -> None:
    # A~B (0.9) and B~C (0.8) are accepted, A/C is a cannot-link: single linkage would give {A, B, C}
    a, b, s = np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.8])
    groups, rank = np.full(3, -1), np.arange(3)
    chained = constrained_clusters(3, a, b, s, groups, rank)
    assert len(set(chained.tolist())) == 1
    cut = constrained_clusters(3, a, b, s, groups, rank, veto=(np.array([0]), np.array([2])))
    assert cut[0] == cut[1] != cut[2]
    # the same with the veto between the first pair's ends and a later one: order of scores decides who joins
    cut = constrained_clusters(3, a, b, np.array([0.7, 0.8]), groups, rank, veto=(np.array([0]), np.array([2])))
    assert cut[1] == cut[2] != cut[0]


def test_yeltsin_joins_boris_or_naina_never_both(fused: FusedBatch) -> None:
    boris, naina = entity_holding(fused, "Boris Yeltsin"), entity_holding(fused, "Naina Yeltsin")
    assert len(boris) == 1 and len(naina) == 1 and boris != naina
    assert entity_holding(fused, "Yeltsin") & boris  # the president, in the stories about Chechnya
    assert not entity_holding(fused, "Lebed") & boris


def test_no_fused_person_holds_two_names_that_differ_in_a_given_or_family_name(fused: FusedBatch) -> None:
    people = {e.id for e in fused.entities if e.type == "Person"}
    for entity_id, surfaces in names_by_entity(fused).items():
        if entity_id in people:
            bad = [(x, y) for x in surfaces for y in surfaces if not persons_compatible(x, y)]
            assert not bad, f"{entity_id}: {bad}"


def test_person_name_rule() -> None:
    assert persons_compatible("Boris Yeltsin", "Yeltsin") and persons_compatible("B. Yeltsin", "Boris Yeltsin")
    assert persons_compatible("Wang", "Wang Donghai") and persons_compatible("Yeltsin 's", "Boris Yeltsin")
    assert not persons_compatible("Boris Yeltsin", "Naina Yeltsin")
    assert not persons_compatible("Lebed", "Yeltsin") and not persons_compatible("Mike Tyson", "Frank Bruno")
    assert persons_compatible("Alexander Lebed", "Alexandr Lebed")  # one edit in a long word: a spelling variant
    # Re-DocRED dev: RapidFuzz's ratio (60) took these given and family names for spelling variants
    assert not persons_compatible("Johann Sebastian Bach", "Anna Magdalena Bach")
    assert not persons_compatible("Alan Brooke", "Alex Brooke")  # two edits in four letters
    assert persons_compatible("Muammar Gaddafi", "Muammar Qaddafi") and persons_compatible("Mangi", "Mnagi")
    assert persons_compatible("Cih uDamol", "Cihu Damol")  # a typo that moved a space
    assert persons_compatible("Francesco De Masi", "De Masi") and not persons_compatible("Theo van Gogh", "Vincent van Gogh")


def _people(names: list[list[str]], docs: list[int]) -> ItemTable:
    """Person items with one embedding (so names decide), resolved as in-document coreference (no groups)."""
    n = len(names)
    return ItemTable.build([f"{i:03d}" for i in range(n)], ["Person"] * n, names, np.ones((n, 8), np.float32), docs, [-1] * n)


def test_a_lone_name_two_people_of_its_document_carry_joins_neither() -> None:
    # Re-DocRED dev "Samantha Mumba": her father Omero James Mumba is in the same article
    items = _people([["Samantha Mumba"], ["Omero James Mumba"], ["Mumba"], ["Tiger Woods"], ["Woods"]], [0, 0, 0, 1, 1])
    la, lb = ambiguous_lone_names(items, np.array([True]))
    assert set(zip(la.tolist(), lb.tolist())) == {(2, 0), (2, 1)}, "Woods has one full name in its story: no cannot-link"
    labels = resolve(items, default_config()).labels
    assert labels[2] not in (labels[0], labels[1]) and labels[3] == labels[4]


def test_one_off_typos_of_a_popular_name_do_not_split_it_but_another_person_stays_out() -> None:
    # one entity of 40 units, two of them one-off typos that are two edits apart from each other ("Vihe" /
    # "Vhue": incompatible as a pair) but one from the name; and Naina beside Boris Yeltsin. Every pair is
    # accepted but the incompatible ones, so only the linkage's name checks decide.
    names = [["Nahol Vuhe"]] * 38 + [["Nahol Vihe"], ["Nahol Vhue"]]
    names += [["Boris Yeltsin"]] * 6 + [["Yeltsin"], ["Naina Yeltsin"]]
    items = _people(names, list(range(len(names))))
    a, b = (x.astype(np.int64) for x in np.triu_indices(len(names), 1))
    kinds = np.array([PERSON])
    _, conflict = score_pairs(items, a, b, kinds)
    assert conflict[(a == 38) & (b == 39)].all() and conflict[(a == 40) & (b == 47)].all()
    labels = link(items, a, b, np.full(len(a), 0.9), ~conflict, cannot_links(items, a, b, conflict, kinds))
    assert len(set(labels[:40].tolist())) == 1, "the typos join the name they misspell"
    assert len(set(labels[40:47].tolist())) == 1 and labels[47] != labels[40], "Naina stays apart from Boris"


def test_country_forms_share_one_key_and_a_demonym_none() -> None:
    assert {country_code(n) for n in ("U.S.", "US", "USA", "United States", "America", "the United States")} == {"USA"}
    assert {country_code(n) for n in ("UK", "Britain", "Great Britain", "United Kingdom", "U.K.")} == {"GBR"}
    assert country_code("Russia") == country_code("Russian Federation") == "RUS"
    assert country_code("Swedish") == country_code("American") == country_code("us") == ""


def test_us_and_united_states_are_one_entity_across_stories(fused: FusedBatch) -> None:
    us = entity_holding(fused, "U.S.") | entity_holding(fused, "United States")
    assert len(us) == 1
    (entity,) = [e for e in fused.entities if e.id in us]
    assert entity.type == "Location" and {"U.S.", "United States"} <= {entity.name, *entity.aliases}
    assert len(entity_holding(fused, "Russia") | entity_holding(fused, "Russian Federation")) == 1


def test_canonical_name_is_the_complete_proper_name() -> None:
    assert canonical_name(["Sunol Valley via", "Sunol Valley"]) == "Sunol Valley"
    assert canonical_name(["Hands of Stone", "Roberto Duran", "Duran"]) == "Roberto Duran"
    assert canonical_name(["IBM", "International Business Machines"]) == "International Business Machines"
    assert canonical_name(["Mr. Holmes", "Sherlock Holmes"]) == "Sherlock Holmes"
    # spans the extractor cut badly (seen in a CoNLL-2003 news build) lose to the clean name
    assert canonical_name(["Bernardin steadfastly", "Bernardin"]) == "Bernardin"
    assert canonical_name(["Yuri Kushko\nTAVILDARA", "Tavildara"]) == "Tavildara"
    # an acronym's expansion is not a nickname, even when two spellings of the acronym share a word
    names = ["NAPM", "NAPM .", "National Association of Purchasing Management"]
    assert canonical_name(names) == "National Association of Purchasing Management"
    assert canonical_name(["U.S.", "United States", "America"]) == "United States"
    # the place, not its adjective, when the extractor's coreference joined them (seen in the bundled example build)
    assert canonical_name(["Romanian", "Romania"]) == "Romania"
    assert canonical_name(["Canadian", "Canada"]) == "Canada" and canonical_name(["Chinese", "China"]) == "China"
    assert canonical_name(["German", "Germany"]) == "Germany" and canonical_name(["Ian", "Iain"]) == "Iain"


def test_fused_news_entities_are_named_by_their_full_names(fused: FusedBatch) -> None:
    by_name = {e.name for e in fused.entities}
    for full in ("Alexander Lebed", "Boris Yeltsin", "Yasser Arafat", "Wang Donghai", "Kurdistan Democratic Party"):
        assert full in by_name
    assert not {"Lebed", "Arafat", "Wang"} & by_name


def test_surname_and_acronym_join_their_full_form_in_one_story(fused: FusedBatch) -> None:
    assert len(entity_holding(fused, "Lebed") | entity_holding(fused, "Alexander Lebed")) == 1
    assert len(entity_holding(fused, "KDP") | entity_holding(fused, "Kurdistan Democratic Party")) == 1


def test_precision_on_the_identity_gold(news, fused: FusedBatch) -> None:
    order, labels, _ = cross_document_gold(news)
    entity = {(m.doc_id, m.start, m.end): m.entity_id for m in fused.mentions}
    predicted = []
    for d, c in order:
        ex = news[d].extraction
        first = min(ex.clusters[c], key=lambda m: ex.mentions[m].start)
        predicted.append(entity[(ex.doc_id, ex.mentions[first].start, ex.mentions[first].end)])
    scores = cluster_scores(predicted, labels)
    assert scores["pairwise"]["precision"] >= 97 and scores["pairwise"]["recall"] >= 70


def _partition(fused_batches: list[FusedBatch], store: GraphStore | None = None) -> set[frozenset]:
    members: dict[str, set] = defaultdict(set)
    if store is not None:
        for row in store.query("MATCH (e:Entity)-[m:MENTIONED_IN]->(:Chunk) RETURN e.id AS id, m.doc_id AS d, m.start AS s"):
            members[row["id"]].add((row["d"], row["s"]))
    else:
        for fused in fused_batches:
            for link in fused.mentions:
                members[link.entity_id].add((link.doc_id, link.start))
    return {frozenset(m) for m in members.values()}


def test_a_graph_built_in_two_halves_fuses_like_one_built_at_once(
    news, fused: FusedBatch, fusion_store: GraphStore, default_schema, fusion_embedder
) -> None:
    batch = [(d.doc, d.extraction) for d in news]
    fuser = Fuser(default_schema, store=fusion_store, model=fusion_embedder)
    write = WriteStage(fusion_store)
    half = len(batch) // 2
    write(fuser(batch[:half]))
    write(fuser(batch[half:]))
    together = _partition([fused])
    in_halves = _partition([], fusion_store)
    assert sum(len({d for d, _ in c}) > 1 for c in together) >= 40, "the set must fuse across stories"
    # Known residue (docs/fusion.md): two entities already in the graph are never merged (the store has no
    # entity merge), so a second-half story that bridges two entities the first half kept apart joins only one:
    # "Moslem" (two stories) and "Moslems" (one), which the batch joins through a story holding both names.
    differing = together - in_halves
    assert len(differing) <= 1, f"{len(differing)} of {len(together)} entities differ: {sorted(map(sorted, differing))[:3]}"
    # and the halves never merge what the batch keeps apart
    batch_entity = {m: i for i, c in enumerate(together) for m in c}
    assert all(len({batch_entity[m] for m in c}) == 1 for c in in_halves)


def test_an_extractor_cluster_of_unrelated_names_is_split(default_schema) -> None:
    """The default model's coreference joined "Cofinec" with "Budapest Stock Exchange" in this eng.testa story (a
    news build); fusion splits such a cluster into groups of related names, the larger keeping the relations."""
    from collections import Counter

    from kgbuild.fusion.units import collect_units
    from kgbuild.records import Document, Extraction, Mention
    from kgbuild.segment import Segmenter

    text = ("Cofinec plunges on H1 results.\nEmese Bartha\nBUDAPEST 1996-08-30\nShares of France-registered printed "
            "packaging company Cofinec S.A. plunged sharply on the Budapest Stock Exchange (BSE) on Friday, despite a "
            "mostly reassuring forecast by the group.")
    doc = Segmenter()([Document("eng.testa-cofinec", text, "eng.testa")])[0]
    found = [Mention(doc.document.id, text.index(name), text.index(name) + len(name), name, "Organization")
             for name in ("Cofinec", "Cofinec S.A.", "Budapest Stock Exchange", "BSE")]
    chained = Extraction(doc.document.id, tuple(found), (tuple(range(len(found))),), ())
    units = collect_units([(doc, chained)], default_schema, Counter())
    groups = sorted(sorted({chained.mentions[m].text for m in u.mentions}) for u in units)
    assert groups == [["BSE", "Budapest Stock Exchange"], ["Cofinec", "Cofinec S.A."]]
    assert sum(bool(u.clusters) for u in units) == 1  # one part keeps the cluster's relations


def test_numbers_are_one_only_when_written_alike() -> None:
    from kgbuild import names as N
    from kgbuild.fusion.units import same_value

    assert not same_value("$1.2 million", "$12 million") and same_value("$12 million", "$ 12 Million")
    assert not same_value("$12 million", "12 million")  # an amount of money is not a count
    assert N.normalize("U.S.") == N.normalize("US")  # dots of abbreviations still go


def test_related_names_of_one_organisation_or_place() -> None:
    from kgbuild.fusion.aliases import names_related

    for a, b in [("BSE", "Budapest Stock Exchange"), ("Fed", "Federal Reserve"), ("U.S.", "United States"),
                 ("Saint Petersburg", "St. Petersburg"), ("Cofinec", "Cofinec S.A.")]:
        assert names_related(a, b) and names_related(b, a), (a, b)
    for a, b in [("Cofinec", "Budapest Stock Exchange"), ("CRICKET", "SRI LANKA"), ("leu", "Comelf"),
                 ("New York", "New Haven"), ("Nigeria", "Nigerian")]:
        assert not names_related(a, b), (a, b)


def test_the_vectorised_spelling_allowance_is_the_scalar_rule() -> None:
    """The scorer reads the allowed edits for millions of pairs at once; it must be the rule names are judged by."""

    from kgbuild.fusion.aliases import spelling_edits, spelling_edits_for

    words = ["Al", "Bob", "Anna", "Alan", "Lebed", "Johann", "Yeltsin", "Chernomyrdin"]
    pairs = [(a, b) for a in words for b in words]
    longest = np.array([max(len(a), len(b)) for a, b in pairs])
    assert spelling_edits_for(longest).tolist() == [spelling_edits(a, b) for a, b in pairs]
    assert sorted(set(spelling_edits_for(longest).tolist())) == [0, 1, 2]


def test_a_name_related_to_two_others_does_not_chain_them(default_schema) -> None:
    """The same story's cluster held "Cofinec GDRs", related to "Cofinec" and to "GDRs" (a shared word each): split
    by connected components it named one entity "Cofinec GDRs" holding the company and its depositary receipts.
    Groups are pairwise related now, the most frequent name placed first."""
    from collections import Counter

    from kgbuild.fusion.units import collect_units
    from kgbuild.records import Document, Extraction, Mention
    from kgbuild.segment import Segmenter

    text = ("Cofinec said on Friday that Cofinec GDRs fell 5 percent. Cofinec expects a loss. The GDRs were listed "
            "in London; Cofinec S.A. is registered in France.")
    doc = Segmenter()([Document("eng.testa-gdrs", text, "eng.testa")])[0]
    spans = [(m.start(), m.end()) for name in ("Cofinec GDRs", "GDRs", "Cofinec S.A.", "Cofinec")
             for m in re.finditer(re.escape(name), text)]
    spans = sorted(s for s in set(spans) if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans))
    found = [Mention(doc.document.id, s, e, text[s:e], "Organization") for s, e in spans]
    chained = Extraction(doc.document.id, tuple(found), (tuple(range(len(found))),), ())
    units = collect_units([(doc, chained)], default_schema, Counter())
    groups = sorted(sorted({chained.mentions[m].text for m in u.mentions}) for u in units)
    assert groups == [["Cofinec", "Cofinec GDRs", "Cofinec S.A."], ["GDRs"]]


def test_a_group_and_its_plural_are_one_name_but_people_are_not_folded() -> None:
    from kgbuild.fusion.aliases import TITLE, singular

    assert singular("moslems") == "moslem" and singular("grammy awards") == "grammy award"
    assert [singular(n) for n in ("swiss", "olympus", "paris", "jews", "us")] == ["swiss", "olympus", "paris", "jews", "us"]
    items = ItemTable.build(["a", "b", "c", "d"], ["Misc", "Misc", "Person", "Person"],
                            [["Moslem"], ["Moslems"], ["Roger"], ["Rogers"]], np.eye(4, dtype=np.float32), [0, 1, 2, 3],
                            [-1, -1, -1, -1])
    kinds = np.array([TITLE if t == "Misc" else PERSON for t in items.type_names])
    features, _ = score_pairs(items, np.array([0, 2]), np.array([1, 3]), kinds)
    assert features[:, 1].tolist() == [1.0, 0.0]  # name_exact: the plural folds for a group, not for a person


def test_moslem_and_moslems_are_one_entity_across_stories(fused: FusedBatch) -> None:
    """Five eng.testa stories write "Moslem" or "Moslems" (Misc); the gold is one identity."""
    assert entity_holding(fused, "Moslem") and entity_holding(fused, "Moslems")
    assert len(entity_holding(fused, "Moslem") | entity_holding(fused, "Moslems")) == 1


def test_one_name_twice_in_a_story_is_one_entity_unless_a_person_or_a_number(default_schema) -> None:
    """eng.testa's Greater Milwaukee Open story names the "World Series of Golf" twice; the default model's coreference
    kept the two apart, so the graph held two entities of that name from one story. Same name, same type, one story:
    one entity now; but two "Bailey" the extractor kept apart may be two people (tests/fusion/test_fuser.py: two
    George Bushes), and "four" and "four" may count different things."""
    from collections import Counter

    from kgbuild.fusion.units import collect_units
    from kgbuild.records import Document, Extraction, Mention
    from kgbuild.segment import Segmenter

    text = ("Woods was among a group of 13 players at four under, including 1993 champion Billy Mayfair, who tied for "
            "second at last week's World Series of Golf, and former U.S. Open champ Payne Stewart.\n"
            "Phil Mickelson, the only four-time winner on the PGA Tour, skipped the tournament after winning the World "
            "Series of Golf last week. Bailey was four under; Bailey, his brother, was not.")
    doc = Segmenter()([Document("eng.testa-golf", text, "eng.testa")])[0]
    found = []
    for name, type_ in (("World Series of Golf", "Misc"), ("Bailey", "Person"), ("four under", "Number")):
        found += [Mention(doc.document.id, m.start(), m.end(), name, type_) for m in re.finditer(re.escape(name), text)]
    found.sort(key=lambda m: m.start)
    apart = Extraction(doc.document.id, tuple(found), tuple((i,) for i in range(len(found))), ())
    units = collect_units([(doc, apart)], default_schema, Counter())
    by_type = Counter(u.type for u in units)
    assert len(found) == 6, found
    assert by_type["Misc"] == 1 and len(next(u for u in units if u.type == "Misc").mentions) == 2
    assert by_type["Person"] == 2 and by_type["Number"] == 2
