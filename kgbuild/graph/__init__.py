"""Graph stores: Neo4j over Bolt and an embedded store, behind one contract."""
