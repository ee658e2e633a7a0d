#!/usr/bin/env bash
# The main job on the bundled examples: install, build examples/docs into the embedded store ./kg
# with the bundled default model, then answer a Cypher query. Offline; no server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
venv="${KGBUILD_VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$venv/bin/kgbuild" build examples/docs --graph ./kg
"$venv/bin/kgbuild" query --graph ./kg "$("$venv/bin/python" -m kgbuild.graph.examples people_and_organisations)"
