"""A model trained on single sentences scores relation pairs only inside one sentence (issue 13): on real Reuters
stories (the in-repo eng.testa sample) the bundled news model with every candidate kept writes only facts whose two
entities meet in one sentence, and the same model reading pairs across its windows would pair a dateline city with
the story (the wrong facts a reader found)."""

from __future__ import annotations

from kgbuild.datasets import read_conll2003
from kgbuild.extract.engine import Extractor
from kgbuild.records import Document
from kgbuild.resources import REPO_ROOT
from kgbuild.segment import Segmenter

SAMPLE = REPO_ROOT / "tests" / "data" / "datasets" / "conll2003" / "eng.testa.sample"


def _facts(extractor: Extractor, scope: str) -> list[tuple[str, str, str, tuple[int, ...], bool]]:
    """(head, type, tail, evidence sentences, whether one sentence holds a mention of each) per fact."""
    extractor.model.config.relation_scope = scope
    stories = read_conll2003(SAMPLE)
    segmented = Segmenter(max_tokens=extractor.max_tokens, count_tokens=extractor.count_tokens)(
        [Document(s.id, s.text, str(SAMPLE)) for s in stories])
    facts = []
    for seg, extracted in zip(segmented, extractor(segmented)):
        e, text = extracted.extraction, seg.document.text

        def sentences(cluster: int) -> set[int]:
            return {i for m in e.clusters[cluster] for i, s in enumerate(seg.sentences)
                    if s.start <= e.mentions[m].start < s.end}

        for r in e.relations:
            head, tail = e.mentions[e.clusters[r.head][0]], e.mentions[e.clusters[r.tail][0]]
            facts.append((text[head.start:head.end], r.type, text[tail.start:tail.end], r.evidence,
                          bool(sentences(r.head) & sentences(r.tail))))
    return facts


def test_the_news_model_pairs_entities_only_inside_a_sentence():
    extractor = Extractor.load("conll04", device="cpu", min_confidence=0.0)
    assert extractor.model.config.relation_scope == "sentence"  # written by `train extract` on sentence-level data
    within = _facts(extractor, "sentence")
    across = _facts(extractor, "window")
    assert within and all(one_sentence and len(evidence) == 1 for *_, evidence, one_sentence in within)
    assert {f[:3] for f in within} <= {f[:3] for f in across}
    assert any(not one_sentence for *_, one_sentence in across)  # e.g. a story's person LIVE_IN its dateline city
