#!/usr/bin/env bash
# Install everything the tests need (dev extras, a real Neo4j from Maven Central, Chromium for the
# report screenshot) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
venv="${KGBUILD_VENV:-.venv}"
tools/neo4j/prepare.sh
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test] installing Debian's chromium for the report screenshot test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "[test] could not install chromium; the screenshot test will fail in CI" >&2
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "$venv/bin/python" -m pytest "$@"
