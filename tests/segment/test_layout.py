"""Sentences end at layout breaks (issue 13): on real Reuters stories (CoNLL-2003 eng.testa, the in-repo sample) the
headline, byline and dateline are sentences of their own, and a real Re-DocRED paragraph hard-wrapped at 72 columns
keeps its sentences whole."""

from __future__ import annotations

import textwrap

import pytest

from kgbuild.datasets import read_conll2003, read_docred
from kgbuild.records import Document
from kgbuild.resources import REPO_ROOT
from kgbuild.segment import Segmenter
from kgbuild.segment.segment import split_at_breaks
from tests.datafiles import dataset

SAMPLE = REPO_ROOT / "tests" / "data" / "datasets" / "conll2003" / "eng.testa.sample"


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter()


def test_headline_byline_and_dateline_are_sentences_of_their_own(segmenter):
    stories = read_conll2003(SAMPLE)
    segmented = segmenter([Document(s.id, s.text, str(SAMPLE)) for s in stories])
    for story, seg in zip(stories, segmented):
        lines = story.text.split("\n")
        dateline = next(line for line in lines[1:3] if line.rstrip()[-10:-6] == "1996")  # "LONDON 1996-08-30"
        texts = [s.text for s in seg.sentences]
        assert dateline in texts, (story.id, texts[:4])  # spaCy alone runs it into the first sentence of the body
        assert texts[0] == lines[0]  # the headline
        assert not any("1996-08-3" in t and t != dateline and "\n" in t for t in texts)
    assert "Brad Dorfman" in [s.text for s in segmented[1].sentences]  # a byline above the dateline


def test_hard_wrapped_prose_keeps_its_sentences_whole(segmenter):
    doc = read_docred(dataset("re-docred/dev_100.json"))[0]
    flat = segmenter([Document("flat", doc.text, "x")])[0]
    wrapped_text = textwrap.fill(doc.text, width=72)
    wrapped = segmenter([Document("wrapped", wrapped_text, "x")])[0]
    assert "\n" in wrapped_text and len(wrapped.sentences) == len(flat.sentences)
    assert [" ".join(s.text.split()) for s in wrapped.sentences] == [" ".join(s.text.split()) for s in flat.sentences]


def test_split_at_breaks_trims_and_drops_empty_pieces():
    text = "TITLE\n\nBody one.\nTail"
    assert split_at_breaks(text, [(0, len(text))], [5, 6, 16]) == [(0, 5), (7, 16), (17, 21)]
    assert split_at_breaks(text, [(0, 5)], []) == [(0, 5)]
