"""``kgbuild train calibrate``: fit a model's score calibration on dev data and choose its default threshold.

The model's raw scores on the dev documents are labelled correct or not (kgbuild.evaluation.calibration); entities
get a map of their raw score (Platt scaling by default, isotonic regression on request), facts a logistic regression
on their raw score, their two names' scores and the distance between the names (``fact_method="features"``, the
default; or the entities' method on the raw score alone), fitted on all of them and saved as the model's
``calibration.json``. To report
honestly how well the map carries to examples it did not see, every dev score is also calibrated by a map fitted on
the other folds of documents (cross-fitting), and the ECE of those held-out scores is what the summary gives. The
default ``--min-confidence`` is the lowest of 0.50, 0.55 ... 0.95 at which the held-out calibrated facts reach the
target precision (0.80), else 0.50 (and the summary says the target is not reached).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kgbuild.evaluation.calibration import (
    THRESHOLDS,
    choose_threshold,
    cross_fitted,
    expected_calibration_error,
    fit,
    label_predictions,
    pooled,
)
from kgbuild.evaluation.matching import scoring_types
from kgbuild.extract.calibration import FILE, Calibration


def calibrate(model: str | Path, data: str | Path, out: str | Path | None = None, folds: int = 5,
              target: float = 0.80, device: str = "auto", limit: int | None = None, seed: int = 13,
              method: str = "platt", entity_data: Sequence[str | Path] = (), fact_method: str = "features") -> dict[str, Any]:
    """Fit, save (in ``out``, a copy of the model directory, else the model directory itself) and summarise.

    ``entity_data``: more dev data whose entities (not facts: it may annotate none) join the entity calibration,
    for a model that reads a second kind of text (the news model on CoNLL-2003 ``eng.testa``)."""
    from kgbuild.datasets.scoring import read_for_scoring
    from kgbuild.evaluation.extraction import is_docred_style, predict_documents
    from kgbuild.extract.engine import Extractor

    started = time.perf_counter()
    extractor = Extractor.load(model, device=device, calibrated=False)
    docs = read_for_scoring(data, extractor.schema)[0][:limit]
    predictions = predict_documents(extractor, docs)
    labelled = label_predictions(docs, predictions, is_docred_style(docs), scoring_types(extractor.schema, docs),
                                 features=True)
    extra_documents = 0
    for path in entity_data:
        more = read_for_scoring(path, extractor.schema)[0][:limit]
        extra_documents += len(more)
        entities = label_predictions(more, predict_documents(extractor, more), is_docred_style(more),
                                     scoring_types(extractor.schema, more))["entities"]
        labelled["entities"] = pooled([labelled["entities"], entities])
    maps, summary = {}, {}
    held_out: dict[str, np.ndarray] = {}
    methods = {"entities": method, "facts": fact_method}
    for kind, items in labelled.items():
        held_out[kind] = cross_fitted(items, folds, seed, methods[kind])
        maps[kind] = fit(items, methods[kind])
        summary[kind] = {
            "predicted": int(len(items.scores)), "correct": int(items.correct.sum()),
            "ece_raw": round(expected_calibration_error(items.scores, items.correct), 4),
            "ece_held_out": round(expected_calibration_error(held_out[kind], items.correct), 4),
        }
    threshold, precision, reached = choose_threshold(held_out["facts"], labelled["facts"].correct, target, THRESHOLDS)
    kept = held_out["entities"] >= threshold
    summary["min_confidence"] = {
        "threshold": threshold, "target_precision": target, "reached": reached,
        "fact_precision": round(100 * precision, 2),
        "facts_kept": int((held_out["facts"] >= threshold).sum()),
        "entity_precision": round(100 * float(labelled["entities"].correct[kept].mean()), 2) if kept.any() else 0.0,
        "entities_kept": int(kept.sum()),
    }
    info = {"data": str(data), "documents": len(docs), "folds": folds, "seed": seed, **summary}
    if entity_data:
        info["entity_data"] = {"paths": [str(p) for p in entity_data], "documents": extra_documents}
    calibration = Calibration(maps["entities"], maps["facts"], threshold, info,
                              method if fact_method == method else f"{method}; facts: {fact_method}")
    target_dir = Path(extractor.path)
    if out is not None and Path(out).resolve() != target_dir.resolve():
        shutil.copytree(target_dir, out, dirs_exist_ok=True)
        target_dir = Path(out)
    path = calibration.save(target_dir)
    summary["file"] = str(path if path.name == FILE else target_dir / FILE)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary
