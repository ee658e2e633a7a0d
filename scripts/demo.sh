#!/usr/bin/env bash
# The main job on the bundled examples: install, build examples/docs into the embedded store ./kg
# with the bundled default model, then answer a Cypher query. Offline; no server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
venv="${KGBUILD_VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$venv/bin/kgbuild" build examples/docs --graph ./kg
"$venv/bin/kgbuild" query --graph ./kg "MATCH (h:Entity)-[r]->(t:Entity) MATCH (c:Chunk) WHERE c.id IN r.evidence_chunk_ids RETURN h.name AS head, type(r) AS relation, t.name AS tail, r.score AS score, c.text AS sentence ORDER BY score DESC, head, relation, tail LIMIT 10"
