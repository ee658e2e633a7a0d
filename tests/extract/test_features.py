"""Chunking and word alignment, and the Done-when check that windowing recovers an entity crossing a boundary."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgbuild.extract.features import _chunk_bounds, backend, bio_labels, encode_documents
from tests.datafiles import needs_full_data


@pytest.fixture(scope="module")
def fast():
    from transformers import AutoTokenizer

    from kgbuild.resources import base_encoder_path

    tokenizer = AutoTokenizer.from_pretrained(str(base_encoder_path()))
    return backend(tokenizer), tokenizer.cls_token_id, tokenizer.sep_token_id


TEXT = ("Abraham Lincoln was shot by John Wilkes Booth at Ford's Theatre in Washington. "
        "Booth was an actor from Maryland who worked for the Confederate Secret Service.")


def test_words_cover_text_and_chunks_respect_the_budget(fast):
    tokenizer, cls, sep = fast
    (enc,) = encode_documents(tokenizer, [TEXT], [[(0, len(TEXT))]], 12, cls, sep)
    assert len(enc.chunks) > 2
    assert all(len(c.ids) <= 12 and c.ids[0] == cls and c.ids[-1] == sep for c in enc.chunks)
    words = [TEXT[s:e] for s, e in enc.words]
    assert words[:4] == ["Abraham", "Lincoln", "was", "shot"]
    assert "'" in words and "Theatre" in words
    # every word is read from a chunk that holds it whole, at its first subword
    for (start, end), (chunk, pos) in zip(enc.words, enc.word_loc):
        assert enc.chunks[chunk].offsets[pos][0] == start


def test_mention_tokens_come_from_a_chunk_holding_the_whole_mention(fast):
    tokenizer, cls, sep = fast
    (enc,) = encode_documents(tokenizer, [TEXT], [[(0, len(TEXT))]], 10, cls, sep)
    start = TEXT.index("John Wilkes Booth")
    end = start + len("John Wilkes Booth")
    chunk, positions = enc.mention_tokens(start, end)
    offsets = enc.chunks[chunk].offsets
    assert offsets[positions[0]][0] == start and offsets[positions[-1]][1] == end


def test_bio_labels_from_char_spans(fast):
    tokenizer, cls, sep = fast
    (enc,) = encode_documents(tokenizer, [TEXT], [[(0, len(TEXT))]], 512, cls, sep)
    index = {"O": 0, "B-Person": 1, "I-Person": 2}
    labels = bio_labels(enc, [(0, 15, "Person")], index)
    assert labels[:3] == [1, 2, 0]
    assert sum(labels) == 3


@given(st.lists(st.one_of(st.none(), st.integers(0, 30)), min_size=0, max_size=80), st.integers(3, 20))
@settings(max_examples=200, deadline=None)
def test_chunk_bounds_cover_everything_within_budget(word_ids, budget):
    bounds = _chunk_bounds(word_ids, budget)
    covered = set()
    for lo, hi in bounds:
        assert 0 <= lo < hi <= len(word_ids) and hi - lo <= budget
        covered.update(range(lo, hi))
    assert covered == set(range(len(word_ids)))


def test_windowing_recovers_an_entity_crossing_a_window_boundary(conll04_extractor):
    """The trained CoNLL04 model finds the same name whether the text is one window or chunks of 10 positions,
    where one chunk ends inside the name and the overlapping next one holds it whole."""
    ex = conll04_extractor
    text = "On Friday night , John Wilkes Booth shot President Abraham Lincoln in Washington ."
    start = text.index("John")
    name = (start, start + len("John Wilkes Booth"), "Person")
    whole = ex.predict_texts([text], [[(0, len(text))]])[0]
    assert name in [(m.start, m.end, m.type) for m in whole.mentions]
    original = ex.model.config.max_len
    try:
        ex.model.config.max_len = 10
        (enc,) = encode_documents(ex._fast, [text], [[(0, len(text))]], 10, ex.tokenizer.cls_token_id,
                                  ex.tokenizer.sep_token_id)
        spans = [[o for o in c.offsets if o[0] >= 0] for c in enc.chunks]
        cut = [c for c in spans if c[0][0] < name[1] and c[-1][1] > name[0] and not (c[0][0] <= name[0] and c[-1][1] >= name[1])]
        assert cut  # a chunk edge falls inside the name
        split = ex.predict_texts([text], [[(0, len(text))]])[0]
    finally:
        ex.model.config.max_len = original
    assert name in [(m.start, m.end, m.type) for m in split.mentions]


def test_overlapping_sentence_windows_merge_without_duplicates(conll04_extractor):
    ex = conll04_extractor
    sentences = ["John Smith works for IBM .", "He lives in Boston .", "Mary Jones visited Paris ."]
    text = " ".join(sentences)
    cuts = [0, len(sentences[0]) + 1, len(sentences[0]) + len(sentences[1]) + 2, len(text)]
    windows = [(cuts[0], cuts[2] - 1), (cuts[1], cuts[3])]  # sentence 2 lies in both windows
    merged = ex.predict_texts([text], [windows])[0]
    single = ex.predict_texts([text], [[(0, len(text))]])[0]
    spans = [(m.start, m.end) for m in merged.mentions]
    assert len(spans) == len(set(spans))
    assert (text.index("Boston"), text.index("Boston") + 6) in spans
    assert {(m.start, m.end, m.type) for m in merged.mentions} == {(m.start, m.end, m.type) for m in single.mentions}


def _conll2003_sentence(containing: str) -> str:
    """The first eng.train sentence with a token ``containing`` (real Reuters text, detokenised as kgbuild reads it)."""
    from kgbuild.datasets import read_conll2003
    from tests.datafiles import dataset

    for doc in read_conll2003(dataset("conll2003/eng.train"), documents=False):
        if containing in doc.text.split():
            return doc.text
    raise AssertionError(f"{containing!r} not in eng.train")


@needs_full_data  # eng.train is not among the shipped samples
@pytest.mark.parametrize(("token", "shape", "pieces"), [
    ("U.S.", "X.X.", [("u", "Title", True), (".", "none", False), ("s", "Title", False), (".", "none", False)]),
    ("LONDON", "XX", [("london", "UPPER", True)]),
    ("1996-08-30", "d.", [("1996", "none", True), ("-", "none", False), ("08", "none", False)]),
])
def test_word_shapes_of_real_conll2003_tokens(fast, token, shape, pieces):
    """The uncased encoder sees "u . s ." and "london"; the shape ids keep what the capitals said."""
    from kgbuild.extract.features import N_SHAPES, shape_id, word_shape

    tokenizer, cls, sep = fast
    text = _conll2003_sentence(token)
    assert word_shape(token) == shape
    (enc,) = encode_documents(tokenizer, [text], [[(0, len(text))]], 128, cls, sep)
    chunk = enc.chunks[0]
    assert len(chunk.shapes) == len(chunk.ids) and chunk.shapes[0] == chunk.shapes[-1] == 0
    assert all(0 < s < N_SHAPES for s in chunk.shapes[1:-1])
    start = text.split().index(token)
    start = len(" ".join(text.split()[:start])) + (1 if start else 0)
    first = next(i for i, (s, _) in enumerate(chunk.offsets) if s == start)
    for k, (piece, case, begins) in enumerate(pieces):
        s, e = chunk.offsets[first + k]
        assert tokenizer.id_to_token(chunk.ids[first + k]) in (piece, "##" + piece)
        assert chunk.shapes[first + k] == shape_id(shape, case, begins), text[s:e]
    lower = encode_documents(tokenizer, [text.lower()], [[(0, len(text))]], 128, cls, sep)[0].chunks[0]
    assert lower.ids == chunk.ids  # the encoder alone cannot tell them apart...
    assert lower.shapes != chunk.shapes  # ...the shapes can


def test_word_shape_classes():
    from kgbuild.extract.features import word_shape

    cases = {"the": "x", "Reuters": "Xx", "(Reuters)": "Xx", "Corp.": "Xx", "I": "X", "AT&T": "XX", "TY.O": "X.X.",
             "a.m.": "x", "McDonald": "mixed", "F-16": "xd", "3,250": "d.", "1996": "d", "--": ".", "iPhone": "mixed"}
    assert {t: word_shape(t) for t in cases} == cases
