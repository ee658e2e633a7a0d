"""Annotation readers on the real datasets and on hand-made JSONL, detokenising, windows."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kgbuild.errors import InputError
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema
from kgbuild.datasets import (
    read_conll2003,
    detect_format,
    detokenize,
    read_annotations,
    read_docred,
    read_jsonl,
    read_spert,
    sentence_windows,
    split_sentences,
    to_segmented,
)
from tests.datafiles import dataset, needs_full_data

DEFAULT = load_schema(REPO_ROOT / "schemas" / "default.yaml")
CONLL04 = load_schema(REPO_ROOT / "schemas" / "conll04.yaml")


def test_detokenize_reads_naturally_and_keeps_offsets():
    tokens = ["Schneider", "(", "born", "1963", ")", "said", ":", "\"", "it", "'s", "done", "\"", "."]
    text, spans = detokenize(tokens)
    assert text == "Schneider (born 1963) said: \" it's done \"."
    assert [text[s:e] for s, e in spans] == tokens


@given(st.lists(st.text(min_size=0, max_size=6), max_size=30))
def test_detokenize_offsets_property(tokens):
    text, spans = detokenize(tokens)
    assert len(spans) == len(tokens)
    for (start, end), token in zip(spans, tokens):
        # blank tokens become "_" and inner whitespace "_", so offsets never point at spaces
        assert text[start:end] == (re.sub(r"\s+", "_", token) if token.strip() else "_")
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


@needs_full_data
def test_redocred_dev_reads_whole():
    docs = read_docred(dataset("re-docred/dev_100.json"), DEFAULT)
    assert len(docs) == 100
    assert sum(len(d.clusters) for d in docs) == 1901  # every entity kept
    assert sum(len(d.relations) for d in docs) == 3327
    raw = json.loads(dataset("re-docred/dev_100.json").read_text())
    first, doc = raw[0], docs[0]
    for vertex, cluster in zip(first["vertexSet"], doc.clusters):
        for mention in cluster:
            span = doc.text[doc.mentions[mention].start : doc.mentions[mention].end]
            assert span.replace(" ", "") in {m["name"].replace(" ", "") for m in vertex} | {span.replace(" ", "")}
    assert doc.mentions[0].type == "Location" and doc.relations[0].type == "COUNTRY"
    assert all(sorted(i for c in d.clusters for i in c) == list(range(len(d.mentions))) for d in docs)
    assert all(d.text[s:e].strip() for d in docs for s, e in d.sentences)


@needs_full_data
def test_conll04_test_reads_whole():
    docs = read_spert(dataset("conll04/conll04_test.json"), CONLL04)
    assert len(docs) == 288
    assert sum(len(d.mentions) for d in docs) == 1079
    assert sum(len(d.relations) for d in docs) == 422
    assert {m.type for d in docs for m in d.mentions} == {"Person", "Organization", "Location", "Other"}
    assert all(len(c) == 1 for d in docs for c in d.clusters)


@needs_full_data
def test_scierc_reads_without_a_schema():
    docs = read_annotations(dataset("scierc/scierc_dev.json"))
    assert len(docs) == 275 and {m.type for d in docs for m in d.mentions} >= {"Method", "Task"}


def test_format_detection():
    assert detect_format(dataset("re-docred/dev_100.json")) == "docred"
    assert detect_format(dataset("conll04/conll04_dev.json")) == "spert"


def _write(path, *records):
    path.write_text("\n".join(json.dumps(r) if not isinstance(r, str) else r for r in records) + "\n")
    return path


def test_jsonl_clusters_by_id_and_relations_by_index_or_id(tmp_path):
    text = "Ada Lovelace worked with Charles Babbage. Lovelace lived in London."
    record = {
        "id": "d1", "text": text,
        "entities": [
            {"start": 0, "end": 12, "type": "PER", "id": "ada"},
            {"start": 25, "end": 40, "type": "PER"},
            {"start": 42, "end": 50, "type": "PER", "id": "ada"},
            {"start": 60, "end": 66, "type": "LOC"},
        ],
        "relations": [{"head": "ada", "tail": 3, "type": "P551"}, {"head": 1, "tail": 0, "type": "Person"}],
    }
    del record["relations"][1]
    (doc,) = read_jsonl(_write(tmp_path / "a.jsonl", record), DEFAULT)
    assert doc.clusters == ((0, 2), (1,), (3,))
    assert [(r.head, r.tail, r.type) for r in doc.relations] == [(0, 2, "RESIDENCE")]
    assert doc.sentences == ((0, 41), (42, 67))
    assert [doc.text[m.start : m.end] for m in doc.mentions] == ["Ada Lovelace", "Charles Babbage", "Lovelace", "London"]


@pytest.mark.parametrize(
    "record, message",
    [
        ({"text": "abc", "entities": [{"start": 2, "end": 9, "type": "PER"}]}, "outside the text"),
        ({"text": "abc", "entities": [{"start": 0, "end": 1, "type": "ALIEN"}]}, "entity tag 'ALIEN' is not in schema"),
        ({"text": "abc", "entities": [{"start": 0, "end": 1, "type": "PER"}],
          "relations": [{"head": 0, "tail": 5, "type": "P17"}]}, "entity index 5"),
        ({"entities": []}, "malformed record"),
        ("{oops", "invalid JSON"),
    ],
)
def test_jsonl_errors_are_one_line_with_file_and_line(tmp_path, record, message):
    path = _write(tmp_path / "bad.jsonl", {"text": "fine"}, record)
    with pytest.raises(InputError) as error:
        read_jsonl(path, DEFAULT)
    assert f"{path}:2:" in str(error.value) and message in str(error.value) and "\n" not in str(error.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_annotations(tmp_path / "nope.json")
    (tmp_path / "odd.json").write_text('[{"x": 1}]')
    with pytest.raises(InputError, match="unknown annotation format"):
        read_annotations(tmp_path / "odd.json")


def test_split_sentences_and_windows():
    text = "Dr. Who met Ms. Pond. They left at 9 p.m. for Leadworth! \"Really?\" Yes."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans][-2:] == ['"Really?"', "Yes."]
    sentences = [(0, 10), (11, 20), (21, 30), (31, 40)]
    windows = sentence_windows(sentences, lambda s, e: e - s, 20)
    assert [w[2] for w in windows] == [(0, 1), (1, 2), (2, 3)]  # overlap of one sentence
    assert sentence_windows([(0, 50)], lambda s, e: e - s, 20) == [(0, 50, (0,))]  # over budget: alone


def test_to_segmented_builds_valid_records():
    doc = read_docred(dataset("re-docred/dev_100.json"), DEFAULT)[0]
    seg = to_segmented(doc, lambda t: len(t.split()), 60)
    assert len(seg.windows) > 1 and seg.sentences[0].text == doc.text[slice(*doc.sentences[0])]
    assert all(doc.text[t.start : t.end] == t.text for t in seg.tokens)
    covered = {i for w in seg.windows for i in w.sentence_indices}
    assert covered == set(range(len(seg.sentences)))


def test_the_example_annotations_read_with_the_conll04_schema():
    docs = read_annotations(REPO_ROOT / "examples" / "annotations.jsonl", CONLL04)
    assert len(docs) == 5
    assert any(len(c) > 1 for d in docs for c in d.clusters)  # "Tim Cook" ... "Cook"
    assert all(d.text[m.start : m.end].strip() == d.text[m.start : m.end] for d in docs for m in d.mentions)


# ---------------------------------------------------------------- CoNLL-2003 and CrossRE (issue 13, item 4)

SAMPLES = REPO_ROOT / "tests" / "data" / "datasets"
CONLL2003 = dataset("conll2003")
CROSSRE = dataset("crossre")
needs_conll2003 = needs_crossre = needs_full_data  # exact counts of the whole files


def _column_tokens(path):
    """Every (token, tag) of a CoNLL column file, read independently of the reader."""
    return [tuple(line.split()[::3]) for line in path.read_text().splitlines() if line.strip()]


def test_conll2003_sample_reads_as_stories_with_schema_types():
    path = SAMPLES / "conll2003" / "eng.testa.sample"
    assert detect_format(path) == "conll2003"
    docs = read_annotations(path, CONLL04)
    assert len(docs) == 4 and sum(len(d.sentences) for d in docs) == 16 + 7 + 7 + 7
    assert docs[0].text.startswith("CRICKET - LEICESTERSHIRE TAKE OVER AT TOP AFTER INNINGS VICTORY.\nLONDON 1996-08-30\n")
    assert docs[1].text.split("\n")[:3] == ["Boatmen's deal could spark more mergers.", "Brad Dorfman", "CHICAGO 1996-08-30"]
    first = [(docs[0].text[m.start : m.end], m.type) for m in docs[0].mentions[:4]]
    assert first == [("LEICESTERSHIRE", "Organization"), ("LONDON", "Location"), ("West Indian", "Other"),
                     ("Phil Simmons", "Person")]
    tags = [tag for _, tag in _column_tokens(path)]
    assert sum(len(d.mentions) for d in docs) == sum(tag.startswith("B-") for tag in tags)  # IOB2: one B- each
    assert all(not d.relations and all(len(c) == 1 for c in d.clusters) for d in docs)
    per_sentence = read_conll2003(path, documents=False)
    assert len(per_sentence) == 37 and per_sentence[1].text == "LONDON 1996-08-30"


def test_conll2003_reads_iob1_and_docstart_lines(tmp_path):
    path = tmp_path / "iob1.txt"
    path.write_text("-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\n\n"
                    "-DOCSTART- -X- O O\n\nPeter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n\n")
    docs = read_conll2003(path)
    assert [d.text for d in docs] == ["EU rejects German", "Peter Blackburn"]
    assert [(m.start, m.end, m.type) for m in docs[0].mentions] == [(0, 2, "ORG"), (11, 17, "MISC")]
    (tmp_path / "bad.txt").write_text("EU NNP I-NP I-ORG\nrejects\n")
    with pytest.raises(InputError, match=r"bad.txt:2: expected"):
        read_conll2003(tmp_path / "bad.txt")


@needs_conll2003
@pytest.mark.parametrize(("name", "sentences", "entities", "stories"), [("eng.train", 14041, 23499, 919),
                                                                         ("eng.testa", 3250, 5942, 214)])
def test_conll2003_real_files_round_trip(name, sentences, entities, stories):
    path = CONLL2003 / name
    docs = read_annotations(path, CONLL04)
    assert sum(len(d.sentences) for d in docs) == sentences
    assert sum(len(d.mentions) for d in docs) == entities
    assert len(docs) == stories  # the official split has 946 / 216 stories; a few lack a dateline
    tokens = _column_tokens(path)
    rebuilt = [d.text[s:e] for d in docs for s, e in d.sentences]
    assert sum(len(t.split()) for t in rebuilt) <= len(tokens)  # detokenised, nothing added
    for doc in docs[:50]:
        for mention in doc.mentions:
            assert doc.text[mention.start : mention.end].strip() == doc.text[mention.start : mention.end]


def test_crossre_sample_reads_spans_and_relations():
    path = SAMPLES / "crossre" / "news-dev.json"
    assert detect_format(path) == "crossre"
    docs = read_annotations(path)
    assert len(docs) == 6 and docs[1].text == "LONDON 1996-08-30"
    third = docs[2]
    assert [(third.text[m.start : m.end], m.type) for m in third.mentions] == [
        ("West Indian all-rounder", "misc"), ("Phil Simmons", "person"), ("Leicestershire", "organisation"),
        ("Somerset", "organisation")]  # the end index is inclusive
    assert [(r.head, r.tail, r.type) for r in third.relations] == [(0, 1, "named"), (1, 2, "part-of"), (1, 2, "role"),
                                                                   (2, 3, "win-defeat")]
    with pytest.raises(InputError, match=r"news-dev.json:3: relation tag 'named' is not in schema"):
        read_annotations(path, CONLL04)  # training reads strictly


def test_scoring_reads_crossre_news_through_the_news_schema_and_says_what_it_leaves_out():
    """CrossRE's news sentences (CoNLL-2003 eng.testa's) read for scoring the news model: its tags map through the
    schema's labels, ``physical`` by its arguments' types, and the relations no CoNLL04 relation means are counted."""
    from kgbuild.datasets.scoring import read_for_scoring

    docs, left_out = read_for_scoring(SAMPLES / "crossre" / "news-dev.json", CONLL04)
    third, fifth = docs[2], docs[4]
    assert [m.type for m in third.mentions] == ["Other", "Person", "Organization", "Organization"]
    assert [m.label for m in third.mentions] == ["misc", "person", "organisation", "organisation"]
    assert [(r.head, r.tail, r.type) for r in third.relations] == [(1, 2, "WORK_FOR")]  # part-of and role: one fact
    typed = {(fifth.text[fifth.mentions[r.head].start:fifth.mentions[r.head].end],
              fifth.text[fifth.mentions[r.tail].start:fifth.mentions[r.tail].end], r.type) for r in fifth.relations}
    assert typed == {("Somerset", "Grace Road", "ORG_BASED_IN"), ("Leicestershire", "Grace Road", "ORG_BASED_IN"),
                     ("Andy Caddick", "Somerset", "WORK_FOR"), ("Andy Caddick", "England", "WORK_FOR")}
    assert left_out == {"win-defeat": 2, "opposite": 2, "named": 1}
    for path, schema in ((SAMPLES / "conll04" / "conll04_dev.json", CONLL04),
                         (SAMPLES / "re-docred" / "dev_100.json", load_schema(REPO_ROOT / "schemas" / "default.yaml"))):
        strict, (scored, nothing) = read_annotations(path, schema), read_for_scoring(path, schema)
        assert scored == strict and nothing == {}  # data the schema was made from reads the same both ways


def test_crossre_relation_to_an_unknown_span_is_a_one_line_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"sentence": ["A", "met", "B"], "ner": [[0, 0, "person"]],
                                "relations": [[0, 0, 2, 2, "social", "", False, False]]}) + "\n")
    with pytest.raises(InputError, match=r"bad.json:1: malformed CrossRE record"):
        read_annotations(path)


@needs_crossre
def test_crossre_real_files_round_trip():
    for path in sorted(CROSSRE.glob("*-*.json")):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        docs = read_annotations(path)
        assert len(docs) == len(lines), path.name
        assert [len(d.mentions) for d in docs] == [len({(a, b) for a, b, _ in r["ner"]}) for r in lines], path.name
        assert [len(d.relations) for d in docs] == [len({(r[0], r[1], r[2], r[3], r[4]) for r in x["relations"]})
                                                     for x in lines], path.name
        for doc, raw in zip(docs[:40], lines):
            for mention, (a, b, _) in zip(doc.mentions, raw["ner"]):
                assert doc.text[mention.start : mention.end].replace(" ", "") == "".join(raw["sentence"][a : b + 1])
    counts = {p.name: len(p.read_text().splitlines()) for p in CROSSRE.glob("*-*.json")}
    assert counts["news-train.json"] == 164 and counts["news-dev.json"] == 350 and sum(counts.values()) == 2819
