"""How far scores are probabilities: expected calibration error, reliability bins, precision and recall at
thresholds, isotonic fitting with cross-fitting, and the plots of ``kgbuild eval --plot``.

Every predicted entity (a mention: strict span and type) and every predicted fact (a relation between two predicted
entities, matched as kgbuild.evaluation.extraction matches RE+) is labelled correct or not against the gold data;
its score should be the probability of being correct. ECE (Guo et al. 2017) is the mean gap between confidence and
accuracy over 10 equal-width bins, weighted by how many scores fall in each. Precision and recall are percentages
like the rest of kgbuild.evaluation; ECE is a probability gap (0 to 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kgbuild.datasets import AnnotatedDocument
from kgbuild.evaluation.matching import ScoringTypes, expand_relation, gold_relations, scored_mentions
from kgbuild.extract.calibration import FACT_FEATURES, FactModel, ScoreMap, fact_features, logit
from kgbuild.records import Extraction

THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.5, 0.55, ..., 0.95
BINS = 10
_PLATT_SURE = 1e-7  # Platt scaling's logits of scores clipped to [1e-7, 1 - 1e-7]: its grid reaches logit +-12


@dataclass
class Labelled:
    """Scores of one kind of prediction, whether each is correct, the gold items each one finds, the document it
    comes from (for cross-fitting by document) and how many gold items there are (for recall); facts also carry
    their :data:`~kgbuild.extract.calibration.FACT_FEATURES` (raw predictions only)."""

    scores: np.ndarray
    correct: np.ndarray
    found: list[frozenset]
    documents: np.ndarray
    n_gold: int
    features: np.ndarray | None = None


def label_predictions(docs: Sequence[AnnotatedDocument], predictions: Sequence[Extraction],
                      docred: bool, types: ScoringTypes | None = None, features: bool = False) -> dict[str, Labelled]:
    """``{"entities": ..., "facts": ...}`` for predictions on annotated documents (entities of the types the data
    annotates, see :func:`kgbuild.evaluation.matching.scoring_types`); with ``features``, the facts' features too
    (meaningful on raw predictions only)."""
    gold_m = {(i, m.start, m.end, m.type) for i, d in enumerate(docs) for m in d.mentions}
    e_scores, e_found, e_docs = [], [], []
    for i, m, scored in scored_mentions(predictions, types):
        e_scores.append(m.score)
        e_found.append(frozenset({(i, m.start, m.end, scored)} & gold_m))
        e_docs.append(i)
    gold_r = gold_relations(docs, docred)
    f_scores, f_found, f_docs = [], [], []
    for i, p in enumerate(predictions):
        for relation in p.relations:
            f_scores.append(relation.score)
            f_found.append(frozenset(expand_relation(i, p, relation, docred)) & gold_r)
            f_docs.append(i)
    f_features = None
    if features:  # for fitting a fact model on raw predictions (kgbuild train calibrate), not for reports
        f_features = np.concatenate([fact_features(p) for p in predictions] or [np.zeros((0, len(FACT_FEATURES)))])

    def pack(scores: list[float], found: list[frozenset], documents: list[int], n_gold: int,
             features: np.ndarray | None = None) -> Labelled:
        return Labelled(np.asarray(scores, dtype=np.float64), np.asarray([bool(f) for f in found], dtype=bool), found,
                        np.asarray(documents, dtype=np.int64), n_gold, features)

    return {"entities": pack(e_scores, e_found, e_docs, len(gold_m)),
            "facts": pack(f_scores, f_found, f_docs, len(gold_r), f_features)}


def pooled(parts: Sequence[Labelled]) -> Labelled:
    """Several datasets' labelled predictions as one (documents and gold items kept apart by dataset)."""
    offset, documents = 0, []
    for part in parts:
        documents.append(part.documents + offset)
        offset += int(part.documents.max()) + 1 if len(part.documents) else 0
    features = [p.features for p in parts]
    return Labelled(
        np.concatenate([p.scores for p in parts]), np.concatenate([p.correct for p in parts]),
        [frozenset((k, item) for item in found) for k, p in enumerate(parts) for found in p.found],
        np.concatenate(documents) if documents else np.zeros(0, np.int64), sum(p.n_gold for p in parts),
        np.concatenate(features) if features and all(f is not None for f in features) else None,
    )


def reliability(scores: np.ndarray, correct: np.ndarray, bins: int = BINS) -> list[dict[str, float]]:
    """Per equal-width bin of confidence: how many scores, their mean, and the share of them that is correct."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(scores, edges[1:-1], right=True), 0, bins - 1) if len(scores) else np.zeros(0, int)
    out = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        out.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": n,
                    "confidence": float(scores[inside].mean()) if n else 0.0,
                    "accuracy": float(correct[inside].mean()) if n else 0.0})
    return out


def expected_calibration_error(scores: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
                               bins: int = BINS) -> float:
    """Sum over bins of (share of scores in the bin) x |accuracy - mean confidence|; 0 for no scores."""
    scores, correct = np.asarray(scores, dtype=np.float64), np.asarray(correct, dtype=bool)
    if not len(scores):
        return 0.0
    return float(sum(b["count"] / len(scores) * abs(b["accuracy"] - b["confidence"]) for b in reliability(scores, correct, bins)))


def threshold_table(labelled: Labelled, thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, float]]:
    """Precision and recall (percent) of the predictions scored at least each threshold."""
    rows = []
    for threshold in thresholds:
        keep = labelled.scores >= threshold
        kept = int(keep.sum())
        found = frozenset().union(*(f for f, k in zip(labelled.found, keep) if k)) if kept else frozenset()
        precision = 100.0 * float(labelled.correct[keep].mean()) if kept else 0.0
        recall = 100.0 * len(found) / labelled.n_gold if labelled.n_gold else 0.0
        rows.append({"threshold": float(threshold), "kept": kept, "precision": round(precision, 2), "recall": round(recall, 2)})
    return rows


def calibration_report(docs: Sequence[AnnotatedDocument], predictions: Sequence[Extraction],
                       docred: bool, types: ScoringTypes | None = None) -> dict[str, Any]:
    """ECE, reliability bins and the threshold table for entities and for facts (``kgbuild eval``'s JSON)."""
    out: dict[str, Any] = {}
    for kind, labelled in label_predictions(docs, predictions, docred, types).items():
        out[kind] = {"ece": round(expected_calibration_error(labelled.scores, labelled.correct), 4),
                     "predicted": int(len(labelled.scores)), "correct": int(labelled.correct.sum()),
                     "gold": labelled.n_gold, "reliability": reliability(labelled.scores, labelled.correct),
                     "thresholds": threshold_table(labelled),
                     "curve": precision_recall_curve(labelled)}
    return out


def precision_recall_curve(labelled: Labelled, points: int = 41) -> list[dict[str, float]]:
    """Precision and recall at evenly spaced thresholds from 0 to 1 (the plot's curve)."""
    return threshold_table(labelled, [round(i / (points - 1), 4) for i in range(points)])


def fit_isotonic(scores: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray) -> ScoreMap:
    """The isotonic regression of correctness on score (scikit-learn), as a :class:`ScoreMap`."""
    from sklearn.isotonic import IsotonicRegression

    scores, correct = np.asarray(scores, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    if len(scores) < 2 or len(set(correct.tolist())) < 2:
        return ScoreMap()  # nothing to learn from: keep the raw scores
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, correct)
    return ScoreMap(tuple(float(v) for v in model.X_thresholds_), tuple(float(v) for v in model.y_thresholds_))


def fit_fact_model(features: np.ndarray, correct: Sequence[bool] | np.ndarray) -> FactModel | ScoreMap:
    """A logistic regression (scikit-learn; C=0.3, the lowest mean held-out ECE on CoNLL04 dev over five fold seeds) of
    correctness on the facts' features; the identity when there is nothing to learn from."""
    from sklearn.linear_model import LogisticRegression

    correct = np.asarray(correct, dtype=bool)
    if len(correct) < 2 or len(set(correct.tolist())) < 2:
        return ScoreMap()
    features = np.asarray(features, dtype=np.float64)
    model = LogisticRegression(C=0.3).fit(features, correct)
    if model.coef_[0, 0] <= 0:  # a higher raw score meaning less often right: the model is not to be trusted so
        return ScoreMap()
    return FactModel(tuple(float(v) for v in model.coef_[0]), float(model.intercept_[0]),
                     tuple(float(v) for v in features.min(axis=0)), tuple(float(v) for v in features.max(axis=0)))


def fit_platt(scores: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray) -> ScoreMap:
    """Platt scaling (a temperature and a bias on the score's logit, by logistic regression, scikit-learn), stored as
    a :class:`ScoreMap` of breakpoints dense in logit space. Two parameters: steadier than isotonic regression on a
    few hundred dev facts."""
    from sklearn.linear_model import LogisticRegression

    scores, correct = np.asarray(scores, dtype=np.float64), np.asarray(correct, dtype=bool)
    if len(scores) < 2 or len(set(correct.tolist())) < 2:
        return ScoreMap()
    model = LogisticRegression(C=100.0).fit(logit(scores, _PLATT_SURE)[:, None], correct)
    grid = np.concatenate([[0.0], 1 / (1 + np.exp(-np.linspace(-12, 12, 241))), [1.0]])
    mapped = model.predict_proba(logit(grid, _PLATT_SURE)[:, None])[:, 1]
    if model.coef_[0, 0] < 0:  # a higher score meaning less often right: no map can make that a probability
        return ScoreMap()
    return ScoreMap(tuple(float(v) for v in grid), tuple(float(v) for v in np.maximum.accumulate(mapped)))


FITTERS = {"platt": fit_platt, "isotonic": fit_isotonic}


def fit(labelled: Labelled, method: str) -> ScoreMap | FactModel:
    """The calibration of one kind of prediction: a map of its raw score (platt, isotonic) or, for facts, a model of
    their features (``features``)."""
    if method == "features":
        if labelled.features is None:
            raise ValueError("calibrating on features needs labelled facts with their features")
        return fit_fact_model(labelled.features, labelled.correct)
    return FITTERS[method](labelled.scores, labelled.correct)


def calibrated(model: ScoreMap | FactModel, labelled: Labelled, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """The calibrated scores of ``labelled`` (those at ``rows``) under a fitted map or fact model."""
    if isinstance(model, FactModel):
        return model(labelled.features[rows])
    return model(labelled.scores[rows])


def cross_fitted(labelled: Labelled, folds: int = 5, seed: int = 13, method: str = "platt") -> np.ndarray:
    """Each score calibrated by a map (``method``: platt, isotonic or features) fitted on the other folds (folds of
    whole documents), so that the ECE of the result measures calibration on examples the map never saw."""
    documents = np.unique(labelled.documents)
    order = np.random.default_rng(seed).permutation(documents)
    fold_of = {int(d): k % folds for k, d in enumerate(order)}
    fold = np.asarray([fold_of[int(d)] for d in labelled.documents], dtype=np.int64)
    out = np.zeros_like(labelled.scores)
    for k in range(folds):
        held = fold == k
        if held.any():
            out[held] = calibrated(fit(_rows(labelled, ~held), method), labelled, held)
    return out


def _rows(labelled: Labelled, keep: np.ndarray) -> Labelled:
    """The predictions at ``keep`` (a boolean mask), as a Labelled of their own."""
    return Labelled(labelled.scores[keep], labelled.correct[keep], [f for f, k in zip(labelled.found, keep) if k],
                    labelled.documents[keep], labelled.n_gold,
                    labelled.features[keep] if labelled.features is not None else None)


def choose_threshold(scores: np.ndarray, correct: np.ndarray, target: float = 0.80,
                     thresholds: Sequence[float] = THRESHOLDS) -> tuple[float, float, bool]:
    """The lowest threshold whose kept predictions reach ``target`` precision: ``(threshold, precision, reached)``.
    When none does, the lowest threshold (0.50: kept facts are more likely right than wrong), ``reached`` false: a
    higher one would only trade recall for precision the model cannot reach."""
    for threshold in thresholds:
        keep = scores >= threshold
        if keep.any() and float(correct[keep].mean()) >= target:
            return float(threshold), float(correct[keep].mean()), True
    keep = scores >= thresholds[0]
    return float(thresholds[0]), float(correct[keep].mean()) if keep.any() else 0.0, False


def plot(report: dict[str, Any], path: str | Path) -> list[Path]:
    """A reliability diagram at ``path`` and a precision-recall curve beside it (``NAME-pr.png``), for entities and
    facts; returns both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pr_path = path.with_name(f"{path.stem}-pr{path.suffix or '.png'}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, kind in zip(axes, ("entities", "facts")):
        bins = [b for b in report[kind]["reliability"] if b["count"]]
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
        ax.bar([(b["low"] + b["high"]) / 2 for b in bins], [b["accuracy"] for b in bins], width=0.09, alpha=0.6,
               label="share correct")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", color="C1", label="bin means")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="score", ylabel="share correct",
               title=f"{kind}: ECE {report[kind]['ece']:.3f} ({report[kind]['predicted']} predicted)")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, kind in zip(axes, ("entities", "facts")):
        curve = [row for row in report[kind]["curve"] if row["kept"]]
        ax.plot([row["recall"] for row in curve], [row["precision"] for row in curve], marker=".")
        for row in report[kind]["thresholds"]:
            if row["kept"] and row["threshold"] in (0.5, 0.8, 0.95):
                ax.annotate(f"{row['threshold']:.2f}", (row["recall"], row["precision"]), fontsize=8)
        ax.set(xlim=(0, 100), ylim=(0, 100), xlabel="recall %", ylabel="precision %", title=f"{kind}: precision-recall")
    fig.tight_layout()
    fig.savefig(pr_path, dpi=100)
    plt.close(fig)
    return [path, pr_path]
