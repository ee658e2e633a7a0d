"""The schemas in schemas/: they load, and they agree with the annotated data they were derived from."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kgbuild.resources import REPO_ROOT
from kgbuild.schema import Schema, load_schema
from tests.datafiles import dataset, needs_full_data

SCHEMAS = REPO_ROOT / "schemas"


@pytest.fixture(scope="module")
def default() -> Schema:
    return load_schema(SCHEMAS / "default.yaml")


@pytest.mark.parametrize("name", ["default", "conll04", "scierc"])
def test_shipped_schema_loads_with_unique_tags(name: str) -> None:
    schema = load_schema(SCHEMAS / f"{name}.yaml")
    assert schema.name == name
    tags = [item.labels[0] for item in schema.relations]
    assert tags and len(tags) == len(set(tags)), "each relation's own tag must map to it alone"
    for tag in {t for item in schema.relations for t in item.labels[1:]}:  # borrowed tags (CrossRE's in conll04)
        sharing = [item for item in schema.relations if tag in item.labels]
        pairs = [(h, t) for item in sharing for h in item.domain for t in item.range]
        assert tag not in tags and len(pairs) == len(set(pairs)), f"{tag!r}: the types must tell its relations apart"
    owners: dict[str, list[str]] = {}
    for entity in schema.entities:
        for tag in entity.labels:
            owners.setdefault(tag, []).append(entity.name)
    assert owners
    for tag, types in owners.items():
        # data read with the schema gets the first type; a later one is a split of it that data never carries
        # (conll04's Value reads CoNLL04's "Other" and is scored as Other against it: docs/training.md)
        assert schema.entity_for_label(tag) == types[0], tag
    assert sum(len(t) > 1 for t in owners.values()) == (1 if name == "conll04" else 0)


def test_default_has_redocred_types_and_relations(default: Schema) -> None:
    assert default.entity_names == ("Person", "Organization", "Location", "Time", "Number", "Misc")
    assert [default.entity_for_label(tag) for tag in ("PER", "ORG", "LOC", "TIME", "NUM", "MISC")] == list(
        default.entity_names
    )
    assert len(default.relations) == 96
    assert default.relation_for_label("P17") == "COUNTRY"
    assert default.relation_for_label("P131") == "LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY"
    assert default.allows("PLACE_OF_BIRTH", "Person", "Location")
    assert not default.allows("PLACE_OF_BIRTH", "Location", "Person")
    assert {r.name for r in default.relations if r.symmetric} == {"SPOUSE", "SIBLING", "SISTER_CITY"}


def test_conll04_and_scierc_relations() -> None:
    conll = load_schema(SCHEMAS / "conll04.yaml")
    assert conll.relation_for_label("Work_For") == "WORK_FOR"
    assert conll.allows("WORK_FOR", "Person", "Organization")
    assert not conll.allows("WORK_FOR", "Organization", "Person")
    # CrossRE's news tags: one tag, several relations, told apart by the arguments' types
    assert conll.relation_for_label("physical", "Person", "Location") == "LIVE_IN"
    assert conll.relation_for_label("physical", "Organization", "Location") == "ORG_BASED_IN"
    assert conll.relation_for_label("physical", "Location", "Location") == "LOCATED_IN"
    assert conll.relation_for_label("part-of", "Person", "Organization") == "WORK_FOR"
    with pytest.raises(KeyError):
        conll.relation_for_label("role", "Person", "Other")  # a borrowed tag outside the domain and range means none
    assert conll.relation_for_label("Work_For", "Person", "Location") == "WORK_FOR"  # the data's own tag always maps
    assert conll.entity_for_label("organisation") == "Organization" and conll.entity_for_label("country") == "Location"
    scierc = load_schema(SCHEMAS / "scierc.yaml")
    assert {r.name for r in scierc.relations if r.symmetric} == {"COMPARE", "CONJUNCTION"}
    assert scierc.relation_for_label("Used-for") == "USED_FOR"


@needs_full_data
def test_every_training_relation_fits_the_default_schema(default: Schema) -> None:
    """Checked independently of the generator: each annotated pair's types are allowed by the schema."""
    rel_info = json.loads(dataset("re-docred/rel_info.json").read_text())
    assert {default.relation_for_label(pid) for pid in rel_info} == set(default.relation_names)
    docs = json.loads(dataset("re-docred/train_400.json").read_text())
    seen = 0
    for doc in docs:
        types = [Counter(m["type"] for m in vertex).most_common(1)[0][0] for vertex in doc["vertexSet"]]
        for label in doc["labels"]:
            head, tail = (default.entity_for_label(types[label[k]]) for k in ("h", "t"))
            assert default.allows(default.relation_for_label(label["r"]), head, tail), (doc["title"], label)
            seen += 1
    assert seen > 13_000


@needs_full_data
@pytest.mark.parametrize(("name", "split"), [("conll04", "conll04/conll04_train.json"), ("scierc", "scierc/scierc_train.json")])
def test_every_training_relation_fits_spert_schemas(name: str, split: str) -> None:
    schema = load_schema(SCHEMAS / f"{name}.yaml")
    for sentence in json.loads(dataset(split).read_text()):
        entities = sentence["entities"]
        for rel in sentence["relations"]:
            head, tail = (schema.entity_for_label(entities[rel[k]]["type"]) for k in ("head", "tail"))
            assert schema.allows(schema.relation_for_label(rel["type"]), head, tail)


@needs_full_data
def test_committed_schemas_match_the_generator() -> None:
    """schemas/*.yaml are exactly what tools/make_schemas.py derives from the data (reproducible)."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "make_schemas.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@needs_full_data
def test_generator_writes_valid_schemas(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "make_schemas.py"), "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conll04.yaml", "default.yaml", "scierc.yaml"]
    assert "96 relation types" in result.stdout
