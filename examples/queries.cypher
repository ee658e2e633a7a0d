// Cypher queries on a graph built from examples/docs with the default schema (schemas/default.yaml).
// Run one with:  kgbuild query "<query>" --graph ./kg     (or paste into the Neo4j browser)
// Graph model: (:Document)-[:HAS_CHUNK]->(:Chunk {text}), (:Entity:<Type> {name, aliases, type}),
// (entity)-[:MENTIONED_IN {start, end, text}]->(chunk), (head)-[:<RELATION> {score, doc_ids, evidence_chunk_ids}]->(tail).

// 1. How many entities of each type?
MATCH (e:Entity)
RETURN e.type AS type, count(e) AS entities
ORDER BY entities DESC;

// 2. How many facts of each relation type?
MATCH (:Entity)-[r]->(:Entity)
RETURN type(r) AS relation, count(r) AS facts
ORDER BY facts DESC;

// 3. People and the organisations they work for, with the sentence that says so.
MATCH (p:Person)-[r:EMPLOYER]->(o:Organization)
MATCH (c:Chunk) WHERE c.id IN r.evidence_chunk_ids
RETURN p.name AS person, o.name AS organization, c.text AS sentence
LIMIT 20;

// 4. The most connected entities.
MATCH (e:Entity)-[r]-(:Entity)
RETURN e.name AS entity, e.type AS type, count(r) AS degree
ORDER BY degree DESC
LIMIT 10;

// 5. Where people were born and of which country they are citizens.
MATCH (p:Person)-[:PLACE_OF_BIRTH]->(place:Location)
OPTIONAL MATCH (p)-[:COUNTRY_OF_CITIZENSHIP]->(country:Location)
RETURN p.name AS person, place.name AS born_in, country.name AS citizen_of;

// 6. Films and other works with their cast members (two relation types, one pattern).
MATCH (work:Misc)-[:CAST_MEMBER|DIRECTOR]->(p:Person)
RETURN work.name AS work, collect(p.name) AS people
ORDER BY size(people) DESC
LIMIT 10;

// 7. Every mention of one entity, with its document and sentence (provenance).
MATCH (e:Entity)-[m:MENTIONED_IN]->(c:Chunk)<-[:HAS_CHUNK]-(d:Document)
WHERE e.name CONTAINS "Sasikumar"
RETURN d.title AS document, m.text AS mention, c.text AS sentence;

// 8. Places two hops up the administrative hierarchy.
MATCH (a:Location)-[:LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY]->(b:Location)
      -[:LOCATED_IN_THE_ADMINISTRATIVE_TERRITORIAL_ENTITY|COUNTRY]->(c:Location)
RETURN a.name AS place, b.name AS within, c.name AS within_that
LIMIT 20;
