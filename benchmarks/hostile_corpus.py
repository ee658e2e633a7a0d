"""The hostile corpus (kgbuild/testing/hostile.py) built end to end, with the figures docs/reliability.md quotes:
files tried, skipped, crashed, facts lost (against a build of the good documents alone) and peak memory.

    python benchmarks/hostile_corpus.py --model MODEL_DIR [--per-kind 16]

Peak memory is the peak resident set of the build's whole process tree (the CLI and its FalkorDB server),
sampled every 0.2 s with psutil.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from kgbuild.api import open_graph
from kgbuild.testing.hostile import MAX_FILE_MB, copy_good, make_corpus


def build(folder: Path, graph: Path, model: str) -> tuple[subprocess.CompletedProcess[str], int, float]:
    args = [sys.executable, "-c", "from kgbuild.cli.app import main; main()", "build", str(folder), "--model", model,
            "--graph", str(graph), "--max-file-mb", str(MAX_FILE_MB), "--batch-size", "8", "--no-progress"]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.2)
    out, err = process.communicate()
    return subprocess.CompletedProcess(args, process.returncode, out, err), peak, time.perf_counter() - started


def facts(graph: Path) -> set[tuple[str, str, str]]:
    store = open_graph(graph)
    try:
        return {(r["h"], r["t"], r["e"]) for r in store.query("MATCH (h:Entity)-[r]->(e:Entity) RETURN h.id AS h, type(r) AS t, e.id AS e")}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--per-kind", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_corpus(Path(tmp) / "corpus", per_kind=args.per_kind)
        result, peak, seconds = build(corpus.root, Path(tmp) / "kg", args.model)
        reference, _, _ = build(copy_good(corpus, Path(tmp) / "good"), Path(tmp) / "kg-good", args.model)
        skipped = sum(line.startswith("skipped ") for line in result.stderr.splitlines())
        crashed = result.returncode != 0 or "Traceback" in result.stderr
        expected = facts(Path(tmp) / "kg-good") if reference.returncode == 0 else set()
        lost = len(expected - facts(Path(tmp) / "kg")) if reference.returncode == 0 else -1
        files = sum(1 for p in corpus.root.rglob("*") if p.is_file() or p.is_symlink())
        print(f"files tried: {files} ({len(corpus.bad)} bad inputs, {len(corpus.good)} good documents)")
        print(f"skipped: {skipped} (one line each: {skipped == len(corpus.bad)}); exit code {result.returncode}")
        print(f"crashed: {int(crashed)}; facts lost against the good-only build: {lost} of {len(expected)}")
        print(f"peak memory (build + store): {peak / 2**20:.0f} MB; {seconds:.1f} s")
        print(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
