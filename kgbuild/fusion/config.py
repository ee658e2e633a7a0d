"""Fusion settings: the pair-scoring weights and the per-type merge thresholds, saved as ``fusion.json``.

``kgbuild train fusion`` fits them on annotated data and writes the file; the defaults below are
what that command produced on Re-DocRED ``train_400.json`` (see docs/fusion.md), so a fresh install
fuses well without calibrating.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kgbuild.errors import InputError

CONFIG_FILE = "fusion.json"
SCOPES = ("same_document", "cross_document")

# Calibrated on Re-DocRED train_400.json with `kgbuild train fusion` (never on dev_100.json), issue 14: thresholds
# fitted under the linkage the fuser runs (merges checked against every member, every cannot-link), for F0.5.
_DEFAULT: dict[str, Any] = {
    "block_cap": 64,
    "context_weight": 0.75,
    "default_threshold": {
        "cross_document": 0.5,
        "same_document": 0.5
    },
    "intercept": -9.0175,
    "meta": {
        "calibrated_on": "train_400.json",
        "documents": 400,
        "objective": 0.9406,
        "objective_kind": "mean of pairwise and B-cubed F0.5 under the constrained linkage with cannot-links",
        "per_scope": {
            "cross_document": 0.9375,
            "same_document": 0.9438
        }
    },
    "neighbours": 10,
    "thresholds": {
        "cross_document": {
            "Location": 0.58,
            "Misc": 0.58,
            "Number": 0.52,
            "Organization": 0.54,
            "Person": 0.54,
            "Time": 0.52
        },
        "same_document": {
            "Location": 0.76,
            "Misc": 0.46,
            "Number": 0.52,
            "Organization": 0.58,
            "Person": 0.32,
            "Time": 0.52
        }
    },
    "veto": 0.0,
    "weights": {
        "acronym": -1.8484,
        "alias": 8.4029,
        "cosine": 4.6573,
        "cosine_alias": -1.1518,
        "name_exact": 0.2938,
        "ratio": 2.2067,
        "same_doc": 3.0223,
        "same_doc_acronym": 7.0033,
        "same_doc_alias": -0.9984,
        "same_doc_cosine": -3.3025,
        "same_doc_cosine_alias": -0.7494,
        "same_doc_name_exact": -0.9984,
        "same_doc_ratio": -3.4069,
        "same_doc_token_set": 2.9586,
        "token_set": 2.0766
    }
}


@dataclass(frozen=True)
class FusionConfig:
    """How pairs are scored (logistic weights over :data:`kgbuild.fusion.score.FEATURES`) and when they merge.

    ``thresholds[scope][type]`` is the minimum pair probability for a merge; ``type`` is a schema type name
    or one of its dataset labels (e.g. ``PER``). ``neighbours`` is k of the nearest-neighbour blocking and
    ``block_cap`` the largest name-key block paired exhaustively. ``veto``: a scored pair below this
    probability is a cannot-link, so no chain of merges may put its two items in one cluster (0, the default:
    off; at scale any such pair between two variants of one big entity splits it, see docs/fusion.md).
    """

    weights: Mapping[str, float]
    intercept: float
    thresholds: Mapping[str, Mapping[str, float]]
    default_threshold: Mapping[str, float]
    context_weight: float = 0.5
    neighbours: int = 10
    block_cap: int = 64
    veto: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)

    def threshold(self, scope: str, type_name: str, labels: tuple[str, ...] = ()) -> float:
        """The merge threshold of a type in a scope, looked up by type name, then by its dataset labels."""
        table = self.thresholds.get(scope, {})
        for key in (type_name, *labels):
            if key in table:
                return float(table[key])
        return float(self.default_threshold[scope])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def save(self, path: str | Path) -> Path:
        """Write ``fusion.json`` (``path`` may be a directory, e.g. a model directory)."""
        target = Path(path)
        if target.is_dir() or not target.suffix:
            target.mkdir(parents=True, exist_ok=True)
            target = target / CONFIG_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json() + "\n", encoding="utf-8")
        return target

    @staticmethod
    def from_mapping(data: Mapping[str, Any], source: str = "fusion settings") -> "FusionConfig":
        known = set(FusionConfig.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{source}: unknown field(s) {unknown}; expected some of {sorted(known)}")
        try:
            config = FusionConfig(**data)
            for scope in SCOPES:
                float(config.default_threshold[scope])
        except (TypeError, KeyError, ValueError) as exc:
            raise InputError(f"{source}: malformed fusion settings ({exc}); re-create it with `kgbuild train fusion`") from exc
        return config

    @staticmethod
    def load(path: str | Path) -> "FusionConfig":
        """Read ``fusion.json`` (or a directory holding one); a broken file is a one-line error."""
        target = Path(path)
        if target.is_dir():
            target = target / CONFIG_FILE
        try:
            data = json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"{target}: no fusion settings file; create one with `kgbuild train fusion --out {target}`") from exc
        except json.JSONDecodeError as exc:
            raise InputError(f"{target}: not valid JSON (line {exc.lineno}); re-create it with `kgbuild train fusion`") from exc
        if not isinstance(data, dict):
            raise InputError(f"{target}: expected a JSON object of fusion settings")
        return FusionConfig.from_mapping(data, source=str(target))


def default_config() -> FusionConfig:
    """The shipped settings (calibrated on Re-DocRED train_400.json)."""
    return FusionConfig.from_mapping(_DEFAULT, source="kgbuild's default fusion settings")


def resolve_config(value: "FusionConfig | str | Path | Mapping[str, Any] | None") -> FusionConfig:
    """Accept settings as an object, a mapping, a path to ``fusion.json`` or its directory, or None (defaults)."""
    if value is None:
        return default_config()
    if isinstance(value, FusionConfig):
        return value
    if isinstance(value, Mapping):
        return FusionConfig.from_mapping(value)
    return FusionConfig.load(value)
