#!/usr/bin/env bash
# Resolve Neo4j 5.26 (org.neo4j.test:neo4j-harness) from Maven Central into tools/neo4j/lib and compile the
# launcher into tools/neo4j/target. Idempotent: returns at once when both are up to date.
# Needs Java 17+ (javac) and Maven. Run the launcher with: java -cp "tools/neo4j/target:tools/neo4j/lib/*" Neo4jLauncher DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
for tool in java javac mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "[neo4j] $tool not found: install a JDK 17+ and Maven (Debian: apt-get install -y openjdk-17-jdk-headless maven)" >&2; exit 1; }
done
stamp="lib/.pom-$(sha256sum pom.xml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "[neo4j] resolving Neo4j jars from Maven Central into $here/lib (first time: about a minute)"
  rm -rf lib
  mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime
  touch "$stamp"
fi
if [ ! -f target/Neo4jLauncher.class ] || [ src/Neo4jLauncher.java -nt target/Neo4jLauncher.class ] || [ "$stamp" -nt target/Neo4jLauncher.class ]; then
  echo "[neo4j] compiling the launcher"
  mkdir -p target
  javac --release 17 -cp "lib/*" -d target src/Neo4jLauncher.java
fi
echo "[neo4j] ready: java -cp \"$here/target:$here/lib/*\" Neo4jLauncher DATA_DIR"
