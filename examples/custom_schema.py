"""Build a graph with your own schema through kgbuild's Python API.

The custom schema below keeps three of the default schema's entity types and renames six of its
relations into a vocabulary of our own. Each custom type lists, in ``labels``, the tags of the
default model it stands for (PER, P108...), so the shipped model's predictions map onto it and
everything else is dropped before it reaches the graph. A schema can equally be written from
scratch with ``EntityType`` / ``RelationType`` or in YAML (see schemas/).

    python examples/custom_schema.py                      # examples/docs -> ./kg-custom
    python examples/custom_schema.py DOCS... --graph DIR  # or any documents, any graph URI
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kgbuild.api import build, load_schema, open_graph
from kgbuild.schema import RelationType, Schema

HERE = Path(__file__).resolve().parent

# Re-DocRED relation id -> our relation name
RENAMED = {
    "P108": "WORKS_FOR",
    "P19": "BORN_IN",
    "P27": "CITIZEN_OF",
    "P69": "STUDIED_AT",
    "P159": "HEADQUARTERED_IN",
    "P131": "LOCATED_IN",
}
KEPT_TYPES = ("Person", "Organization", "Location")


def people_schema() -> Schema:
    """A smaller schema over the default one: same tags, our own names, only the types we keep."""
    default = load_schema(HERE.parent / "schemas" / "default.yaml")
    entities = [default.entity(name) for name in KEPT_TYPES]
    relations = []
    for tag, name in RENAMED.items():
        original = default.relation(default.relation_for_label(tag))
        relations.append(
            RelationType(
                name=name,
                description=f"{original.description} (Re-DocRED {tag})",
                domain=tuple(t for t in original.domain if t in KEPT_TYPES),
                range=tuple(t for t in original.range if t in KEPT_TYPES),
                labels=(tag,),
            )
        )
    return Schema(name="people", description="People, organisations and places.", entities=entities, relations=relations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(HERE / "docs")], help="documents or folders")
    parser.add_argument("--graph", default="kg-custom", help="a folder (embedded store) or bolt://... (Neo4j)")
    parser.add_argument("--model", default="default", help="a bundled model name or a model folder")
    args = parser.parse_args()

    schema = people_schema()
    summary = build(args.paths, schema=schema, model=args.model, graph=args.graph)
    print(summary)

    graph = open_graph(args.graph)
    try:
        rows = graph.query(
            "MATCH (p:Person)-[r:WORKS_FOR]->(o:Organization) "
            "RETURN p.name AS person, o.name AS organization, r.score AS score "
            "ORDER BY score DESC LIMIT $limit",
            {"limit": 10},
        )
        for row in rows:
            print(f"{row['person']} works for {row['organization']} ({row['score']:.2f})")
    finally:
        graph.close()


if __name__ == "__main__":
    main()
