"""Strict micro precision / recall / F1 of an extractor on annotated data (``kgbuild eval``).

- ``entities``: a mention counts when its span and type both match (strict NER); ``mentions``: span only.
- ``relations`` (RE+ of SpERT / Taillé et al.): a relation counts when its type and both arguments match exactly.
  On sentence-level data (no coreference annotated) the arguments are mentions (span + type). On DocRED-style data
  they are entities: a predicted cluster matches a gold entity when it has exactly the same mention spans and the same
  type (the strict end-to-end setting of JEREX, Eberts and Ulges 2021).
- ``relations_gold_entities``: the relation head alone, given the gold mentions and entities (as ATLOP reports).
- ``clusters`` (DocRED-style only): B-cubed over mentions, where a mention the system missed scores 0 recall and a
  spurious predicted mention scores 0 precision (so mention errors count); ``exact`` is the F1 of entities whose
  mention set matches a gold entity exactly (JEREX's coreference score).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from kgbuild.extract.infer import GoldEntities
from kgbuild.datasets import AnnotatedDocument, sentence_windows
from kgbuild.evaluation.matching import ScoringTypes, expand_relation, gold_relations as _gold_relations, scored_mentions, scoring_types
from kgbuild.records import Extraction


class Predictor(Protocol):
    """What evaluation needs from an extractor (``kgbuild.extract.engine.Extractor`` has it)."""

    max_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def predict_texts(self, texts: Sequence[str], windows: Sequence[Sequence[tuple[int, int]]],
                      gold: Sequence[GoldEntities] | None = None, doc_ids: Sequence[str] | None = None,
                      sentences: Sequence[Sequence[tuple[int, int]]] | None = None) -> list[Extraction]: ...


@dataclass
class Tally:
    """Counts per type; ``scores()`` gives micro P/R/F1 overall and per type."""

    tp: Counter
    pred: Counter
    gold: Counter

    @classmethod
    def of(cls, predicted: Iterable[tuple[Any, ...]], gold: Iterable[tuple[Any, ...]], type_at: int = -1) -> "Tally":
        p, g = set(predicted), set(gold)
        return cls(Counter(x[type_at] for x in p & g), Counter(x[type_at] for x in p), Counter(x[type_at] for x in g))

    def scores(self) -> dict[str, Any]:
        out = prf(sum(self.tp.values()), sum(self.pred.values()), sum(self.gold.values()))
        out["per_type"] = {t: prf(self.tp[t], self.pred[t], self.gold[t]) for t in sorted(set(self.pred) | set(self.gold))}
        return out


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, Any]:
    """Precision, recall, F1 in percent (0 where undefined) with the counts behind them."""
    p = 100.0 * tp / n_pred if n_pred else 0.0
    r = 100.0 * tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 2), "recall": round(r, 2), "f1": round(f, 2), "tp": tp, "predicted": n_pred, "gold": n_gold}


def is_docred_style(docs: Sequence[AnnotatedDocument]) -> bool:
    """Document-level data annotates coreference: some entity has several mentions."""
    return any(len(c) > 1 for d in docs for c in d.clusters)


def windows_for(predictor: Predictor, docs: Sequence[AnnotatedDocument]) -> list[list[tuple[int, int]]]:
    """Encoder windows from each document's own sentences."""
    return [[(s, e) for s, e, _ in sentence_windows(d.sentences, lambda a, b, t=d.text: predictor.count_tokens(t[a:b]),
                                                    predictor.max_tokens)] for d in docs]


def gold_entities(doc: AnnotatedDocument) -> GoldEntities:
    return GoldEntities([(m.start, m.end, m.type) for m in doc.mentions], [list(c) for c in doc.clusters])


def predict_documents(predictor: Predictor, docs: Sequence[AnnotatedDocument], gold: bool = False,
                      batch_docs: int = 64) -> list[Extraction]:
    """The predictions ``kgbuild eval`` scores: each document decoded over windows of its own sentences
    (``gold``: relations only, given the gold entities). tests/test_build_matches_eval.py checks that
    ``kgbuild build`` writes exactly these facts."""
    out: list[Extraction] = []
    for lo in range(0, len(docs), batch_docs):
        part = docs[lo : lo + batch_docs]
        texts, windows = [d.text for d in part], windows_for(predictor, part)
        out.extend(predictor.predict_texts(texts, windows, [gold_entities(d) for d in part] if gold else None,
                                           sentences=[d.sentences for d in part]))
    return out


def evaluate(predictor: Predictor, docs: Sequence[AnnotatedDocument], gold_relations: bool = True,
             docred_style: bool | None = None, batch_docs: int = 64) -> dict[str, Any]:
    """Every score of the module docstring, as the JSON shape ``kgbuild eval --json`` prints."""
    docred = is_docred_style(docs) if docred_style is None else docred_style
    gold_relations = gold_relations and any(d.relations for d in docs)  # NER-only data (CoNLL-2003): nothing to score
    predictions = predict_documents(predictor, docs, batch_docs=batch_docs)
    with_gold = predict_documents(predictor, docs, gold=True, batch_docs=batch_docs) if gold_relations else []
    types = scoring_types(getattr(predictor, "schema", None), docs)
    result: dict[str, Any] = {"documents": len(docs), "setting": "document" if docred else "sentence"}
    if types and any(v != k for k, v in types.items()):
        result["scored_as"] = types  # what the data cannot judge is left out, a shared tag scored as one type
    result.update(score(docs, predictions, docred, types))
    from kgbuild.evaluation.calibration import calibration_report

    result["calibration"] = calibration_report(docs, predictions, docred, types)
    if gold_relations:
        result["relations_gold_entities"] = Tally.of(
            _pred_relations(docs, with_gold, docred), _gold_relations(docs, docred)).scores()
    return result


def score(docs: Sequence[AnnotatedDocument], predictions: Sequence[Extraction], docred: bool,
          types: ScoringTypes | None = None) -> dict[str, Any]:
    """Entity, mention, relation and (document-level) cluster scores of decoded predictions (entities and mentions
    of the types the data annotates, see :func:`kgbuild.evaluation.matching.scoring_types`)."""
    gold_m = {(i, m.start, m.end, m.type) for i, d in enumerate(docs) for m in d.mentions}
    pred_m = {(i, m.start, m.end, scored) for i, m, scored in scored_mentions(predictions, types)}
    out: dict[str, Any] = {
        "entities": Tally.of(pred_m, gold_m).scores(),
        "mentions": prf(len({x[:3] for x in pred_m} & {x[:3] for x in gold_m}), len({x[:3] for x in pred_m}),
                        len({x[:3] for x in gold_m})),
        "relations": Tally.of(_pred_relations(docs, predictions, docred), _gold_relations(docs, docred)).scores(),
    }
    if docred:
        out["clusters"] = cluster_scores(docs, predictions)
    return out


def _pred_relations(docs: Sequence[AnnotatedDocument], predictions: Sequence[Extraction], docred: bool) -> set[tuple[Any, ...]]:
    return {key for i, p in enumerate(predictions) for relation in p.relations for key in expand_relation(i, p, relation, docred)}


def cluster_scores(docs: Sequence[AnnotatedDocument], predictions: Sequence[Extraction]) -> dict[str, Any]:
    """B-cubed over mentions (detection errors count, see module docstring) and exact-entity F1 (untyped)."""
    p_sum = r_sum = 0.0
    n_pred = n_gold = 0
    exact_tp = exact_pred = exact_gold = 0
    for d, p in zip(docs, predictions):
        gold_of = {}
        for c in d.clusters:
            spans = frozenset((d.mentions[m].start, d.mentions[m].end) for m in c)
            for s in spans:
                gold_of[s] = spans
        pred_of = {}
        for c in p.clusters:
            spans = frozenset((p.mentions[m].start, p.mentions[m].end) for m in c)
            for s in spans:
                pred_of[s] = spans
        for s, cluster in pred_of.items():
            p_sum += len(cluster & gold_of.get(s, frozenset())) / len(cluster)
        for s, cluster in gold_of.items():
            r_sum += len(cluster & pred_of.get(s, frozenset())) / len(cluster)
        n_pred += len(pred_of)
        n_gold += len(gold_of)
        gold_set, pred_set = set(gold_of.values()), set(pred_of.values())
        exact_tp += len(gold_set & pred_set)
        exact_pred += len(pred_set)
        exact_gold += len(gold_set)
    precision = 100.0 * p_sum / n_pred if n_pred else 0.0
    recall = 100.0 * r_sum / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"b_cubed": {"precision": round(precision, 2), "recall": round(recall, 2), "f1": round(f1, 2)},
            "exact": prf(exact_tp, exact_pred, exact_gold)}


def flat_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The headline numbers as one flat dict (training logs, model selection): ``score`` = mean of entity and
    relation F1."""
    flat = {"entity_f1": result["entities"]["f1"], "mention_f1": result["mentions"]["f1"],
            "relation_f1": result["relations"]["f1"]}
    if "clusters" in result:
        flat["coref_b3_f1"] = result["clusters"]["b_cubed"]["f1"]
    if "relations_gold_entities" in result:
        flat["relation_gold_f1"] = result["relations_gold_entities"]["f1"]
    flat["score"] = (flat["entity_f1"] + flat["relation_f1"]) / 2
    return flat
