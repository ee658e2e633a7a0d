"""render(): one self-contained page (nothing fetched), everything from the graph escaped."""

from __future__ import annotations

import json
import re

from kgbuild.report.collect import Edge, Evidence, FactView, ReportData, TopEntity
from kgbuild.report.highlight import highlight
from kgbuild.report.render import render

EVIL = "<script>alert('x')</script>"


def sample() -> ReportData:
    people = TopEntity("e1", "Ada Lovelace", "Person", 2, 3, ("Lovelace",))
    org = TopEntity("e2", f"Analytical {EVIL} Society", "Organization", 1, 1)
    place = TopEntity("e3", "London", "Location", 1, 1)
    sentence = "Ada Lovelace worked for the Analytical Society in London."
    fact = FactView(
        "Ada Lovelace", "Person", "WORKS_FOR", org.name, "Organization", 0.87,
        (Evidence("Ada Lovelace", "docs/ada.txt", tuple(highlight(sentence, [(0, 12, "head"), (28, 46, "tail")]))),),
    )
    return ReportData(
        graph="./kg",
        totals={"documents": 1, "sentences": 1, "entities": 3, "mentions": 5, "facts": 2},
        entity_types=[("Person", 1), ("Organization", 1), ("Location", 1)],
        relation_types=[("WORKS_FOR", 1), ("LIVES_IN", 1)],
        top_entities=[people, org, place],
        view_nodes=[people, org, place],
        view_edges=[Edge("e1", "e2", "WORKS_FOR", 0.87), Edge("e1", "e3", "LIVES_IN", 0.5)],
        facts=[fact],
        facts_total=2,
        notes=["showing the 1 highest-scoring of 2 facts (raise --max-facts)"],
    )


def test_page_is_self_contained() -> None:
    page = render(sample())
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "new vis.Network" in page and "vis-network" in page  # the library is inlined
    assert len(page) > 400_000


def test_graph_values_are_escaped() -> None:
    page = render(sample())
    assert EVIL not in page
    assert "Analytical &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Society" in page
    data = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', page, re.S)
    assert data is not None, "the graph JSON must not be cut short by a '</script>' inside it"
    graph = json.loads(data.group(1))
    assert [n["label"] for n in graph["nodes"]] == ["Ada Lovelace", f"Analytical {EVIL} Society", "London"]
    assert {(e["source"], e["target"], e["type"]) for e in graph["edges"]} == {("e1", "e2", "WORKS_FOR"), ("e1", "e3", "LIVES_IN")}
    assert len({n["colour"] for n in graph["nodes"]}) == 3  # one colour per entity type


def test_counts_facts_and_highlights_are_shown() -> None:
    page = render(sample())
    text = re.sub(r"<[^>]+>", " ", page)
    assert re.search(r"\b3\s+entities\b", text, re.I)
    assert "WORKS_FOR" in page and "LIVES_IN" in page
    assert '<mark class="head">Ada Lovelace</mark> worked for the <mark class="tail">Analytical Society</mark>' in page
    assert "raise --max-facts" in page
    assert "Lovelace" in page  # an alias


def test_empty_graph_renders() -> None:
    empty = ReportData("./kg", {"documents": 0, "sentences": 0, "entities": 0, "mentions": 0, "facts": 0},
                       [], [], [], [], [], [], 0)
    page = render(empty)
    assert "The graph has no entities yet." in page and 'id="graph"' not in page
