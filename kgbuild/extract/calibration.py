"""Calibrated scores: the map from a model's raw entity and fact scores to the probability that they are correct.

Fitted on dev data by ``kgbuild train calibrate`` (kgbuild.training.calibrate) and saved beside the model as
``calibration.json``, so loading needs no scikit-learn:

* entities: a non-decreasing map of the raw score (Platt scaling or isotonic regression), stored as breakpoints and
  applied by linear interpolation (as scikit-learn's ``IsotonicRegression.predict`` does);
* facts: a logistic regression on the fact's raw score **and** on evidence the relation head weighs poorly: how sure
  the model is of each of the two names, and how far apart they are in the text (:data:`FACT_FEATURES`). On CoNLL04
  dev the raw score alone ranks right above wrong facts with AUC 0.73 and on CrossRE's news sentences with 0.55;
  with the three more features 0.80 and 0.76 (docs/quality.md). A map of the raw score alone (format 1) still loads.

A model without the file keeps its raw scores (identity), so older models load unchanged. ``min_confidence`` is the
default threshold of ``kgbuild build``, chosen on dev for fact precision of at least 0.80.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kgbuild.errors import ModelError
from kgbuild.records import Extraction

FILE = "calibration.json"
# what a fact's probability is computed from (in this order): the logit of its raw score, the logits of the best raw
# score among the head's and among the tail's mentions, and log(1 + characters between their nearest mentions)
FACT_FEATURES = ("fact", "head", "tail", "gap")
_SURE = 1e-4  # scores are clipped to [_SURE, 1 - _SURE] before the logit: a given (gold) name scores 1.0


def logit(scores: Sequence[float] | np.ndarray, sure: float = _SURE) -> np.ndarray:
    """log(p / (1 - p)) of scores clipped to [sure, 1 - sure] (a score of 0 or 1 has no finite logit)."""
    clipped = np.clip(np.asarray(scores, dtype=np.float64), sure, 1 - sure)
    return np.log(clipped / (1 - clipped))


def fact_features(extraction: Extraction) -> np.ndarray:
    """One row of :data:`FACT_FEATURES` per relation of a raw (uncalibrated) extraction."""
    rows = np.zeros((len(extraction.relations), len(FACT_FEATURES)), dtype=np.float64)
    for k, relation in enumerate(extraction.relations):
        heads = [extraction.mentions[i] for i in extraction.clusters[relation.head]]
        tails = [extraction.mentions[i] for i in extraction.clusters[relation.tail]]
        gap = min(max(0, max(h.start, t.start) - min(h.end, t.end)) for h in heads for t in tails)
        rows[k] = (relation.score, max(m.score for m in heads), max(m.score for m in tails), gap)
    rows[:, :3] = logit(rows[:, :3])
    rows[:, 3] = np.log1p(rows[:, 3])
    return rows


@dataclass(frozen=True)
class ScoreMap:
    """A non-decreasing piecewise-linear map of [0, 1] onto probabilities; no breakpoints = identity."""

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    def __call__(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        values = np.asarray(scores, dtype=np.float64)
        if not self.x:
            return values
        return np.interp(values, self.x, self.y)

    def one(self, score: float) -> float:
        return float(self(np.asarray([score]))[0])


@dataclass(frozen=True)
class FactModel:
    """A logistic regression of a fact's correctness on its :data:`FACT_FEATURES`, each feature held to the range it
    had in the fit (``low``, ``high``): a given (gold) name, scored 1.0, counts as the surest name the fit saw, not as
    a step beyond it."""

    coef: tuple[float, ...]
    intercept: float
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None

    def __call__(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=np.float64).reshape(-1, len(FACT_FEATURES))
        if self.low is not None and self.high is not None:
            features = np.clip(features, self.low, self.high)
        return 1.0 / (1.0 + np.exp(-(features @ np.asarray(self.coef) + self.intercept)))


@dataclass(frozen=True)
class Calibration:
    """Entity and fact score maps, the default ``--min-confidence`` and how they were fitted."""

    entity: ScoreMap = field(default_factory=ScoreMap)
    fact: ScoreMap | FactModel = field(default_factory=ScoreMap)
    min_confidence: float | None = None
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    method: str = "identity"

    @property
    def fitted(self) -> bool:
        return bool(self.entity.x) or isinstance(self.fact, FactModel) or bool(self.fact.x)

    def fact_scores(self, extraction: Extraction) -> np.ndarray:
        """The calibrated score of each relation of a raw extraction."""
        if isinstance(self.fact, FactModel):
            return self.fact(fact_features(extraction))
        return self.fact([r.score for r in extraction.relations])

    def apply(self, extraction: Extraction) -> Extraction:
        """The extraction with calibrated mention and relation scores (rounded to 6 decimals, as decoded)."""
        if not self.fitted:
            return extraction
        facts = self.fact_scores(extraction)  # from the raw mention scores, before these are replaced
        mentions = tuple(replace(m, score=round(self.entity.one(m.score), 6)) for m in extraction.mentions)
        relations = tuple(replace(r, score=round(float(p), 6)) for r, p in zip(extraction.relations, facts))
        return replace(extraction, mentions=mentions, relations=relations)

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.fact, FactModel):
            fact: dict[str, Any] = {"features": list(FACT_FEATURES), "coef": _rounded(self.fact.coef),
                                    "intercept": round(self.fact.intercept, 6)}
            if self.fact.low is not None and self.fact.high is not None:
                fact |= {"low": _rounded(self.fact.low), "high": _rounded(self.fact.high)}
        else:
            fact = {"x": _rounded(self.fact.x), "y": _rounded(self.fact.y)}
        return {
            "format": 2 if isinstance(self.fact, FactModel) else 1, "method": self.method,
            "entity": {"x": _rounded(self.entity.x), "y": _rounded(self.entity.y)}, "fact": fact,
            "min_confidence": self.min_confidence, "info": self.info,
        }

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / FILE
        text = json.dumps(self.to_dict(), indent=1)
        text = re.sub(r"\[[-0-9.,e\s]*\]", lambda m: " ".join(m.group().split()), text)  # a number list on one line
        path.write_text(text + "\n", encoding="utf-8")
        return path


def _rounded(values: Sequence[float]) -> list[float]:
    return [round(float(v), 6) for v in values]


def _score_map(raw: Any, where: Path, kind: str) -> ScoreMap:
    x, y = tuple(float(v) for v in raw.get("x", ())), tuple(float(v) for v in raw.get("y", ()))
    if len(x) != len(y) or any(b < a for a, b in zip(x, x[1:])) or any(b < a for a, b in zip(y, y[1:])):
        raise ModelError(f"{where}: {kind} calibration must be two equally long non-decreasing lists x and y")
    return ScoreMap(x, y)


def _fact_calibration(raw: Any, where: Path) -> ScoreMap | FactModel:
    if "coef" not in raw:
        return _score_map(raw, where, "fact")
    coef = tuple(float(v) for v in raw["coef"])
    if tuple(raw.get("features", ())) != FACT_FEATURES or len(coef) != len(FACT_FEATURES):
        raise ModelError(f"{where}: the fact calibration's features {raw.get('features')} are not {list(FACT_FEATURES)} "
                         "(made by another kgbuild version); refit it with `kgbuild train calibrate`")
    bounds = [tuple(float(v) for v in raw[key]) if key in raw else None for key in ("low", "high")]
    if any(b is not None and len(b) != len(FACT_FEATURES) for b in bounds):
        raise ModelError(f"{where}: the fact calibration's low and high need one value per feature {list(FACT_FEATURES)}")
    return FactModel(coef, float(raw["intercept"]), *bounds)


def load_calibration(model_dir: str | Path) -> Calibration:
    """The model's calibration, or the identity when it has none."""
    path = Path(model_dir) / FILE
    if not path.is_file():
        return Calibration()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(_score_map(raw.get("entity", {}), path, "entity"), _fact_calibration(raw.get("fact", {}), path),
                           raw.get("min_confidence"), raw.get("info", {}), str(raw.get("method", "isotonic")))
    except (OSError, json.JSONDecodeError, AttributeError, TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: unreadable calibration ({type(exc).__name__}: {exc}); refit it with "
                         "`kgbuild train calibrate`") from None


def keep_confident(extraction: Extraction, threshold: float) -> Extraction:
    """Only mentions and relations scored at least ``threshold``: a mention below it is dropped, an entity left with
    no mention is dropped with its relations, and the rest are renumbered."""
    if threshold <= 0:
        return extraction
    kept = [i for i, m in enumerate(extraction.mentions) if m.score >= threshold]
    new_index = {old: new for new, old in enumerate(kept)}
    clusters, cluster_index = [], {}
    for c, members in enumerate(extraction.clusters):
        inside = tuple(new_index[m] for m in members if m in new_index)
        if inside:
            cluster_index[c] = len(clusters)
            clusters.append(inside)
    relations = tuple(replace(r, head=cluster_index[r.head], tail=cluster_index[r.tail]) for r in extraction.relations
                      if r.score >= threshold and r.head in cluster_index and r.tail in cluster_index)
    states = extraction.states.take(kept) if extraction.states is not None else None
    return replace(extraction, mentions=tuple(extraction.mentions[i] for i in kept), clusters=tuple(clusters),
                   relations=relations, states=states)


def bundled_thresholds() -> dict[str, float | None]:
    """The default ``--min-confidence`` of each bundled model, read from its calibration.json (for ``--help``)."""
    from kgbuild.resources import BUNDLED_MODELS

    out: dict[str, float | None] = {}
    for name in ("default", "conll04"):
        try:
            out[name] = load_calibration(BUNDLED_MODELS / name).min_confidence
        except ModelError:
            out[name] = None
    return out


def kept_threshold(calibration: Calibration, min_confidence: float | None) -> float:
    """What a build keeps: the caller's threshold, else the model's default (chosen on dev), else everything (0)."""
    return float(min_confidence if min_confidence is not None else calibration.min_confidence or 0.0)


def threshold_tag(threshold: float) -> str:
    """The part of an extractor's fingerprint that says what it keeps (so the ledger rebuilds when it changes)."""
    return f"|min={threshold:g}" if threshold > 0 else ""
