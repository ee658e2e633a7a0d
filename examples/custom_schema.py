"""Build a graph with your own schema through kgbuild's Python API.

A schema decides what may enter the graph: a relation is written only between the entity types its
domain and range allow. Here we tighten the default schema so that the people-related relations hold
only between the types we consider sensible (an EMPLOYER is an Organization, a PLACE_OF_BIRTH a
Location...), keep every other type as trained, and build with the shipped default model, which
decodes under the custom schema. The schema is plain pydantic; it is also saved as YAML so the CLI
can use it: ``kgbuild build DOCS --schema people_strict.yaml``.

(A schema with *other* types or relation names needs a model trained on it: ``kgbuild train extract``.)

    python examples/custom_schema.py                      # examples/docs -> ./kg-custom
    python examples/custom_schema.py DOCS... --graph DIR  # or any documents, any graph URI
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from kgbuild.api import build, load_schema, open_graph
from kgbuild.schema import RelationType, Schema
from kgbuild.schema.load import schema_to_yaml

HERE = Path(__file__).resolve().parent

# relation -> (domain, range) we accept; the default schema allows more (every type seen in training)
TIGHTENED = {
    "EMPLOYER": (("Person",), ("Organization",)),
    "EDUCATED_AT": (("Person",), ("Organization",)),
    "MEMBER_OF_POLITICAL_PARTY": (("Person",), ("Organization",)),
    "PLACE_OF_BIRTH": (("Person",), ("Location",)),
    "PLACE_OF_DEATH": (("Person",), ("Location",)),
    "COUNTRY_OF_CITIZENSHIP": (("Person",), ("Location",)),
    "HEADQUARTERS_LOCATION": (("Organization",), ("Location",)),
    "FOUNDED_BY": (("Organization",), ("Person",)),
}


def people_strict_schema() -> Schema:
    """The default schema with stricter domains and ranges for people and organisations."""
    default = load_schema(HERE.parent / "schemas" / "default.yaml")
    relations = []
    for relation in default.relations:
        if relation.name in TIGHTENED:
            domain, range_ = TIGHTENED[relation.name]
            relation = RelationType(**{**relation.model_dump(), "domain": domain, "range": range_})
        relations.append(relation)
    return Schema(
        name="people-strict",
        description="Re-DocRED types; people/organisation relations only between the expected types.",
        entities=default.entities,
        relations=relations,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(HERE / "docs")], help="documents or folders")
    parser.add_argument("--graph", default="kg-custom", help="a folder (embedded store) or bolt://... (Neo4j)")
    parser.add_argument("--model", default="default", help="a bundled model name or a model folder")
    parser.add_argument("--save-schema", type=Path, default=None, help="also write the schema as YAML here")
    args = parser.parse_args()

    schema = people_strict_schema()
    if args.save_schema:
        args.save_schema.write_text(schema_to_yaml(schema), encoding="utf-8")
    summary = build(args.paths, schema=schema, model=args.model, graph=args.graph)
    print(summary)

    with contextlib.closing(open_graph(args.graph)) as graph:
        rows = graph.query(
            "MATCH (p:Person)-[r:EMPLOYER]->(o:Organization) "
            "RETURN p.name AS person, o.name AS organization, r.score AS score "
            "ORDER BY score DESC LIMIT $limit",
            {"limit": 10},
        )
        for row in rows:
            print(f"{row['person']} works for {row['organization']} ({row['score']:.2f})")
        if not rows:
            print("no EMPLOYER facts in this graph")


if __name__ == "__main__":
    main()
