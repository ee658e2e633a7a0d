"""``kgbuild report`` on the real stores (embedded, and Neo4j when the session has one), filled with Re-DocRED's
gold annotations through the stores' own upserts: real documents, entities, mentions and facts, no model."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from kgbuild.records import Entity, Fact, MentionLink, SegmentedDocument
from kgbuild.report import collect
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema
from tests.report.gold import fill, gold_records
from tests.datafiles import dataset
from tests.report.chromium import GRAPH_VIEW, saturated_pixels, screenshot

DEV = dataset("re-docred/dev_100.json")
SCHEMA = REPO_ROOT / "schemas" / "default.yaml"
MAIN = "from kgbuild.cli.app import main; main()"

Gold = tuple[list[SegmentedDocument], list[Entity], list[MentionLink], list[Fact]]


@pytest.fixture(scope="module")
def gold() -> Gold:
    return gold_records(DEV, load_schema(SCHEMA), first=0, count=6)


@pytest.fixture(scope="module", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def graph_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, gold: Gold) -> str:
    uri = str(tmp_path_factory.mktemp("report") / "kg") if request.param == "embedded" else request.getfixturevalue("neo4j_uri")
    fill(uri, gold)
    return uri


@pytest.fixture
def store(graph_uri: str) -> Iterator[Any]:
    from kgbuild.graph import open_graph

    opened = open_graph(graph_uri)
    opened.open()
    yield opened
    opened.close()


def unique_facts(facts: list[Fact]) -> dict[tuple[str, str, str], Fact]:
    return {(f.head_id, f.type, f.tail_id): f for f in facts}


def test_counts_match_what_was_written(store: Any, gold: Gold) -> None:
    documents, entities, mentions, facts = gold
    data = collect(store, "kg", top=10, view_nodes=30, max_facts=1000)
    assert data.totals == {
        "documents": len(documents),
        "sentences": sum(len(d.sentences) for d in documents),
        "entities": len(entities),
        "mentions": len({(m.entity_id, m.chunk_id, m.start, m.end) for m in mentions}),  # the stores' key
        "facts": len(unique_facts(facts)),
    }
    assert dict(data.entity_types) == dict(Counter(e.type for e in entities))
    assert dict(data.relation_types) == dict(Counter(key[1] for key in unique_facts(facts)))
    assert not data.notes  # every fact shown


def test_most_connected_entities(store: Any, gold: Gold) -> None:
    _, entities, _, facts = gold
    degree: Counter[str] = Counter()
    for head, _, tail in unique_facts(facts):
        degree[head] += 1
        degree[tail] += 1
    data = collect(store, "kg", top=5, view_nodes=12, max_facts=0)
    assert [e.degree for e in data.top_entities] == sorted(degree.values(), reverse=True)[:5]
    names = {e.id: e.name for e in entities}
    assert all(names[e.id] == e.name and degree[e.id] == e.degree for e in data.top_entities)
    shown = {n.id for n in data.view_nodes}
    assert len(shown) == 12
    expected = {key for key in unique_facts(facts) if key[0] in shown and key[2] in shown}
    assert {(e.source, e.type, e.target) for e in data.view_edges} == expected
    assert data.facts == [] and data.notes


def check_evidence(data: Any, records: Gold) -> int:
    """Every fact shows real sentences of the graph; every highlight is a mention of that fact's head or tail."""
    documents, entities, _, _ = records
    sentences = {s.text for d in documents for s in d.sentences}
    surfaces = {e.name: {e.name, *e.aliases} for e in entities}
    highlighted = 0
    for fact in data.facts:
        assert fact.evidence, fact
        for evidence in fact.evidence:
            assert "".join(segment.text for segment in evidence.segments) in sentences
            assert evidence.title in {d.document.title for d in documents}
            for segment in evidence.segments:
                if segment.role:
                    assert segment.text in surfaces[fact.head if segment.role == "head" else fact.tail]
                    highlighted += 1
    return highlighted


def test_facts_carry_highlighted_source_sentences(store: Any, gold: Gold) -> None:
    data = collect(store, "kg", max_facts=50)
    assert len(data.facts) == 50 and data.facts_total == len(unique_facts(gold[3]))
    assert [f.score for f in data.facts] == sorted((f.score for f in data.facts), reverse=True)
    assert check_evidence(data, gold) >= 50


def test_facts_without_evidence_fall_back_to_mentions(graph_uri: str, gold: Gold, tmp_path: Path) -> None:
    """Facts written without evidence still show sentences: co-mentions first, else each end's first mention."""
    from kgbuild.graph import open_graph

    documents, entities, mentions, facts = gold
    bare = [dataclasses.replace(f, evidence_chunk_ids=()) for f in facts]
    uri = str(tmp_path / "kg") if "://" not in graph_uri else graph_uri
    fill(uri, (documents, entities, mentions, bare))
    store = open_graph(uri)
    store.open()
    try:
        data = collect(store, "kg", max_facts=1000)
    finally:
        store.close()
        if uri == graph_uri:
            fill(graph_uri, gold)  # leave the shared Neo4j as the other tests expect it
    assert len(data.facts) == len(unique_facts(facts))
    assert check_evidence(data, gold) >= len(data.facts)


def test_cli_writes_the_page(graph_uri: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = subprocess.run(
        [sys.executable, "-c", MAIN, "report", graph_uri, "--out", str(out), "--max-facts", "40", "--graph-nodes", "25"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"{out}: report on {graph_uri}" in result.stdout
    page = out.read_text()
    assert page.count('<div class="fact"') == 40
    assert '<mark class="head">' in page and '<mark class="tail">' in page
    assert "the 25 most connected entities" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"?(https?:)?//", page)
    assert not list(tmp_path.glob("*.part"))


def test_cli_missing_graph_is_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", MAIN, "report", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no graph directory" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_cli_page_renders_in_chromium(graph_uri: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-c", MAIN, "report", graph_uri, "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    image = screenshot(out, tmp_path / "report.png", tmp_path / "profile")
    assert saturated_pixels(image, GRAPH_VIEW) > 2000, "no coloured entity nodes in the graph view"
