"""kgbuild: documents in, a Cypher-queryable knowledge graph out."""

__version__ = "0.1.0"
