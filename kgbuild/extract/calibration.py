"""Calibrated scores: the map from a model's raw entity and fact scores to the probability that they are correct.

Fitted on dev data by ``kgbuild train calibrate`` (Platt scaling or isotonic regression, kgbuild.training.calibrate)
and saved beside the model as ``calibration.json``: per kind, the non-decreasing breakpoints of the fitted map, applied
by linear interpolation (as scikit-learn's ``IsotonicRegression.predict`` does), so loading needs no scikit-learn. A
model without the file keeps its raw scores (identity), so older models load unchanged. ``min_confidence`` is the
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
class Calibration:
    """Entity and fact score maps, the default ``--min-confidence`` and how they were fitted."""

    entity: ScoreMap = field(default_factory=ScoreMap)
    fact: ScoreMap = field(default_factory=ScoreMap)
    min_confidence: float | None = None
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    method: str = "identity"

    @property
    def fitted(self) -> bool:
        return bool(self.entity.x or self.fact.x)

    def apply(self, extraction: Extraction) -> Extraction:
        """The extraction with calibrated mention and relation scores (rounded to 6 decimals, as decoded)."""
        if not self.fitted:
            return extraction
        mentions = tuple(replace(m, score=round(self.entity.one(m.score), 6)) for m in extraction.mentions)
        relations = tuple(replace(r, score=round(self.fact.one(r.score), 6)) for r in extraction.relations)
        return replace(extraction, mentions=mentions, relations=relations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": 1, "method": self.method,
            "entity": {"x": _rounded(self.entity.x), "y": _rounded(self.entity.y)},
            "fact": {"x": _rounded(self.fact.x), "y": _rounded(self.fact.y)},
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


def load_calibration(model_dir: str | Path) -> Calibration:
    """The model's calibration, or the identity when it has none."""
    path = Path(model_dir) / FILE
    if not path.is_file():
        return Calibration()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(_score_map(raw.get("entity", {}), path, "entity"), _score_map(raw.get("fact", {}), path, "fact"),
                           raw.get("min_confidence"), raw.get("info", {}), str(raw.get("method", "isotonic")))
    except (OSError, json.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
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
