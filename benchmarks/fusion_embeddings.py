"""Fusion's mention vectors, two sources, on one real build: ``kgbuild build --fusion-embeddings X``.

Builds the first N Re-DocRED dev_100 documents (written as text files) once per source, each in a fresh process
(imports count), into its own embedded graph, and prints per source: wall and CPU seconds of the whole build, the
seconds spent making mention vectors inside fusion, whether sentence-transformers was imported, and the graph's
entity count. Quality is measured by ``kgbuild eval fusion --embeddings X`` (docs/fusion.md), not here.

    python benchmarks/fusion_embeddings.py [--docs 100] [--data ../shared/data/re-docred/dev_100.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from kgbuild.api import build
summary = build([sys.argv[1]], graph=sys.argv[2], device="cpu", show_progress=False, fusion_embeddings=sys.argv[3])
usage = resource.getrusage(resource.RUSAGE_SELF)
embed = summary.section_seconds.get("fuse: embedding", 0.0)
print(json.dumps({"wall": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
                  "fuse": summary.stage_seconds.get("fuse", 0.0), "embed": embed,
                  "extract": summary.stage_seconds.get("extract", 0.0),
                  "sentence_transformers": "sentence_transformers" in sys.modules,
                  "entities": summary.graph_stats.get("entities"), "documents": summary.processed}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--data", default=os.path.join(os.environ.get("KGBUILD_DATA", "../shared/data"), "re-docred", "dev_100.json"))
    parser.add_argument("--sources", default="sentence-transformers,extractor")
    args = parser.parse_args()

    from kgbuild.datasets import read_docred
    from kgbuild.resources import REPO_ROOT
    from kgbuild.schema import load_schema

    docs = read_docred(Path(args.data), load_schema(REPO_ROOT / "schemas" / "default.yaml"))[: args.docs]
    with tempfile.TemporaryDirectory(prefix="kgbuild-fusion-emb-") as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i, doc in enumerate(docs):
            (folder / f"{i:03d}.txt").write_text(doc.text, encoding="utf-8")
        words = sum(len(d.text.split()) for d in docs)
        print(f"{len(docs)} documents, {words:,} words; load average {os.getloadavg()[0]:.1f} at start")
        print(f"{'source':<22} {'wall s':>8} {'CPU s':>8} {'extract s':>10} {'fuse s':>8} {'embed s':>8} {'ST imported':>12} {'entities':>9}")
        for source in args.sources.split(","):
            done = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(Path(tmp) / f"kg-{source}"), source],
                                  capture_output=True, text=True, cwd=REPO_ROOT)
            if done.returncode:
                sys.exit(f"{source}: build failed: {done.stderr.strip().splitlines()[-1]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{source:<22} {r['wall']:>8.1f} {r['cpu']:>8.1f} {r['extract']:>10.1f} {r['fuse']:>8.1f} {r['embed']:>8.1f} "
                  f"{str(r['sentence_transformers']):>12} {r['entities']:>9}")
        print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
