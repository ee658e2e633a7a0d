"""How right a bundled model's facts are on news, measured on CrossRE's news dev split.

CrossRE's news sentences are CoNLL-2003 ``eng.testa`` sentences (Reuters, 1996) annotated with relations, so they are
the relation-annotated news that the hand reads of docs/quality.md otherwise stand in for. CrossRE's relation types
are not CoNLL04's or Wikidata's: a predicted fact counts as right when CrossRE annotates, between the same two spans,
a relation of a kind that says the same (``role`` for WORK_FOR, ``physical`` for ORG_BASED_IN...: for ``conll04``
the CrossRE labels of its schema, with which ``kgbuild eval --data .../news-dev.json`` scores it too; for ``default``
the map below, where a reversed relation such as HAS_PART is checked tail to head). That is approximate both ways (CrossRE's ``physical``
person -> country also holds visits; it leaves facts unannotated), so the script also prints the share of facts whose
two spans CrossRE relates in any way. Scores are the model's calibrated ones: the table says how far they hold on news.

    python scripts/news_facts_crossre.py --model conll04 [--data ../shared/data/crossre/news-dev.json] [--show 30]
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

SAME = {  # a model's relation type -> the CrossRE relation types that say the same (conll04: its schema's labels)
    "default": {
        "EMPLOYER": {"role", "part-of"}, "MEMBER_OF_SPORTS_TEAM": {"role", "part-of"}, "MEMBER_OF": {"role", "part-of"},
        "MEMBER_OF_POLITICAL_PARTY": {"role", "part-of", "general-affiliation"}, "POSITION_HELD": {"role"},
        "COUNTRY": {"physical", "part-of"}, "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY": {"physical", "part-of"},
        "HEADQUARTERS_LOCATION": {"physical"}, "LOCATION": {"physical"}, "RESIDENCE": {"physical"},
        "WORK_LOCATION": {"physical"}, "CONTINENT": {"physical", "part-of"}, "PART_OF": {"part-of"},
        "COUNTRY_OF_CITIZENSHIP": {"general-affiliation", "origin", "role", "physical"},
        "COUNTRY_OF_ORIGIN": {"origin", "general-affiliation"}, "PLACE_OF_BIRTH": {"origin", "physical"},
        "PARTICIPANT_OF": {"role", "part-of", "physical"}, "LEAGUE": {"part-of"},
    },
}
REVERSED = {"HAS_PART": "PART_OF", "CONTAINS_ADMINISTRATIVE_TERRITORIAL_ENTITY": "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY",
            "PARTICIPANT": "PARTICIPANT_OF", "SUBSIDIARY": "PART_OF", "CHAIRPERSON": "EMPLOYER"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="conll04", help="conll04 (its schema lists CrossRE's tags), default, or a model directory whose schema does")
    data = Path(os.environ.get("KGBUILD_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=data / "crossre" / "news-dev.json")
    parser.add_argument("--show", type=int, default=0, help="List the N best-scored facts with their judgement.")
    args = parser.parse_args()

    from kgbuild.datasets.crossre import read_crossre
    from kgbuild.evaluation.calibration import expected_calibration_error
    from kgbuild.evaluation.extraction import windows_for
    from kgbuild.extract.engine import Extractor

    docs = read_crossre(args.data)  # no schema: CrossRE's own tags
    extractor = Extractor.load(args.model, device="auto")
    predictions = extractor.predict_texts([d.text for d in docs], windows_for(extractor, docs))
    # conll04's schema lists CrossRE's tags beside its own (tools/make_schemas.py): the labels after the first
    same = SAME.get(args.model) or {r.name: set(r.labels[1:]) for r in extractor.schema.relations}
    facts = []  # (score, right, related, text)
    for doc, prediction in zip(docs, predictions):
        gold: dict[tuple, set[str]] = defaultdict(set)
        for r in doc.relations:
            head, tail = doc.mentions[r.head], doc.mentions[r.tail]
            gold[((head.start, head.end), (tail.start, tail.end))].add(r.type)
        for r in prediction.relations:
            head = prediction.mentions[prediction.clusters[r.head][0]]
            tail = prediction.mentions[prediction.clusters[r.tail][0]]
            pair = ((head.start, head.end), (tail.start, tail.end))
            kind, key = (REVERSED[r.type], pair[::-1]) if r.type in REVERSED else (r.type, pair)
            right = bool(gold.get(key, set()) & same.get(kind, set()))
            related = bool(gold.get(pair) or gold.get(pair[::-1]))
            facts.append((r.score, right, related, f"{head.text} {r.type} {tail.text}  [CrossRE: {sorted(gold.get(pair, ()))}]"))
    facts.sort(key=lambda f: -f[0])
    scores = np.array([f[0] for f in facts])
    right = np.array([f[1] for f in facts], dtype=bool)
    related = np.array([f[2] for f in facts], dtype=bool)
    print(f"{args.model} on {args.data.name}: {len(docs)} sentences, {len(facts)} facts, {right.sum()} right "
          f"(same kind of relation in CrossRE), {related.sum()} relate two spans CrossRE relates; "
          f"fact ECE {expected_calibration_error(scores, right):.3f}, mean score {scores.mean() if len(facts) else 0:.2f}")
    print(f"{'min score':>9} {'facts':>6} {'right':>6} {'related':>8}")
    for threshold in (0.0, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.8):
        keep = scores >= threshold
        share = lambda x: f"{100 * x[keep].mean():.0f}%" if keep.any() else "-"  # noqa: E731
        print(f"{threshold:>9.2f} {int(keep.sum()):>6} {share(right):>6} {share(related):>8}")
    for score, ok, rel, text in facts[: args.show]:
        print(f"{score:.2f} {'right' if ok else 'related' if rel else 'wrong':>7}  {text}")


if __name__ == "__main__":
    main()
