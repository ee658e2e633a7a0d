"""End-to-end build speed: the real ``kgbuild build`` CLI against the encoder's own ceiling, in one run (issue 15).

Writes the first ``--docs`` Re-DocRED dev documents as text files, runs ``kgbuild build`` on them in a fresh process
(the embedded store; ``--neo4j`` also into a Neo4j started from tools/neo4j), and prints:

* end-to-end words/s: the build's word tokens over the wall seconds of the whole command (start-up included), and
  the build's own rate (model loading and start-up excluded);
* the encoder-forward-alone ceiling: the same model's encoder over the same windows (spaCy segmentation as the build
  does it, the same batch size and thread count), nothing else, and the ratio of the two;
* the seconds of each stage and of the finer sections inside them, read from the build's summary table (read,
  segment, tokenize, encoder, entity/coreference heads, relation head, fusion embedding, graph candidates,
  clustering, writes), and start-up (the command's wall minus the build's own seconds);
* ``kgbuild query`` counting entities on the built graph, and a rebuild with nothing to do, both as wall seconds;
* the load average before and after: the machine may be shared, so compare figures from one run only.

    python benchmarks/build_speed.py                   # 100 documents, embedded store
    python benchmarks/build_speed.py --docs 20 --threads 2
    python benchmarks/build_speed.py --neo4j           # also into Neo4j (Java and the tools/neo4j jars)
    python benchmarks/build_speed.py --fusion-embeddings extractor   # fusion from the extractor's own states
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW = re.compile(r"^[│|]\s(\s*)(\S.*?)\s+[│|]\s+([\d,.]+)\s+[│|]$")


def write_corpus(folder: Path, count: int) -> int:
    """The first ``count`` Re-DocRED dev documents as ``docNNN.txt``; returns how many were written."""
    from kgbuild.datasets import read_annotations
    from kgbuild.resources import REPO_ROOT, data_dir
    from kgbuild.schema.load import load_schema

    docs = read_annotations(data_dir() / "re-docred" / "dev_100.json", load_schema(REPO_ROOT / "schemas" / "default.yaml"))
    folder.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(docs[:count]):
        (folder / f"doc{i:03d}.txt").write_text(doc.text, encoding="utf-8")
    return min(count, len(docs))


def kgbuild(*args: str, env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Run the console entry point in a fresh process; wall seconds and stdout (a failure stops the benchmark).

    It runs in ``cwd`` (the work directory), not in a checkout: ``python -c`` puts the working directory first on
    the path, so the kgbuild measured is the one this benchmark imports (PYTHONPATH or the installed one)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", "from kgbuild.cli.app import main; main()", *args],
                            capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"kgbuild {' '.join(args[:1])} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return wall, result.stdout


def summary_rows(stdout: str) -> dict[str, tuple[int, float]]:
    """The summary table's numeric rows: name -> (indent, value)."""
    rows = {}
    for line in stdout.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows[match.group(2)] = (len(match.group(1)), float(match.group(3).replace(",", "")))
    return rows


def encoder_ceiling(corpus: Path, thread_counts: list[int], batch_size: int) -> tuple[dict[int, float], int, int]:
    """Seconds of the encoder's forward passes alone over the build's windows at each thread count, the word tokens
    and the windows. The ceiling is the fastest of them, whatever thread count the build used."""
    import torch

    from kgbuild.extract.engine import Extractor
    from kgbuild.extract.features import encode_documents
    from kgbuild.extract.infer import encode_chunks
    from kgbuild.ingest import read_inputs
    from kgbuild.records import Document
    from kgbuild.segment.segment import Segmenter

    extractor = Extractor.load("default")
    segmenter = Segmenter(max_tokens=extractor.max_tokens, count_tokens=extractor.count_tokens)
    docs = [d for d in read_inputs([corpus]) if isinstance(d, Document)]
    segmented = segmenter(docs)
    model, fast, tok = extractor.model, extractor._fast, extractor.tokenizer
    batches = [encode_documents(fast, [d.document.text for d in segmented[lo : lo + batch_size]],
                                [[(w.start, w.end) for w in d.windows] for d in segmented[lo : lo + batch_size]],
                                model.config.max_len, tok.cls_token_id, tok.sep_token_id)
               for lo in range(0, len(segmented), batch_size)]
    seconds = {}
    for threads in thread_counts:
        torch.set_num_threads(threads)
        encode_chunks(model, batches[0][:1], extractor.batch_size, extractor.device, extractor.dtype)  # warm-up
        started = time.perf_counter()
        for encs in batches:
            encode_chunks(model, encs, extractor.batch_size, extractor.device, extractor.dtype)
        if extractor.device.type == "cuda":
            torch.cuda.synchronize()
        seconds[threads] = time.perf_counter() - started
    windows = sum(len(e.chunks) for encs in batches for e in encs)
    return seconds, sum(len(d.tokens) for d in segmented), windows


def measure(name: str, graph: str, corpus: Path, args: argparse.Namespace, env: dict[str, str]) -> dict[str, object]:
    """One build into ``graph``, then a query and a no-op rebuild; every figure of the report for this store."""
    extra = ["--threads", str(args.threads)] if args.threads else []
    extra += ["--fusion-embeddings", args.fusion_embeddings] if args.fusion_embeddings else []
    build_args = ["build", str(corpus), "--graph", graph, "--no-progress", "--batch-size", str(args.batch_size), *extra]
    cwd = corpus.parent
    wall, out = kgbuild(*build_args, env=env, cwd=cwd)
    rows = summary_rows(out)
    query_wall, _ = kgbuild("query", "MATCH (e:Entity) RETURN count(e) AS n", "--graph", graph, "--json", env=env, cwd=cwd)
    noop_wall, noop_out = kgbuild(*build_args, env=env, cwd=cwd)
    if "nothing to do" not in noop_out:
        sys.exit(f"{name}: the second build was not a no-op:\n{noop_out[-1000:]}")
    return {"name": name, "wall": wall, "rows": rows, "query": query_wall, "noop": noop_wall}


def report(result: dict[str, object], ceiling: float, words: int) -> None:
    rows: dict[str, tuple[int, float]] = result["rows"]  # type: ignore[assignment]
    wall = float(result["wall"])  # type: ignore[arg-type]
    seconds = rows["seconds"][1]
    tokens = rows.get("word tokens", (0, float(words)))[1]
    load = rows.get("load model", (2, 0.0))[1]
    e2e, own = tokens / wall, tokens / max(seconds - load, 1e-9)
    ceiling_rate = words / ceiling
    print(f"\n## {result['name']}")
    print("| what | value |\n|---|---:|")
    print(f"| word tokens (build) | {tokens:,.0f} |")
    print(f"| end-to-end words/s (whole command) | {e2e:,.0f} |")
    print(f"| build's own words/s (start-up and model loading excluded) | {own:,.0f} |")
    print(f"| encoder-forward-alone ceiling, words/s | {ceiling_rate:,.0f} |")
    print(f"| end-to-end / ceiling | {e2e / ceiling_rate:.2f} |")
    print(f"| build's own / ceiling | {own / ceiling_rate:.2f} |")
    print(f"| command wall s | {wall:.1f} |")
    print(f"| start-up s (wall minus the build's own seconds: imports, checks, store open and close) | {wall - seconds:.1f} |")
    started = False
    for name, (indent, value) in rows.items():
        if name == "seconds":
            started = True
            print(f"| build seconds | {value:.1f} |")
            continue
        if started and indent >= 2 and not name.startswith("tokens/s"):
            print(f"| {'&nbsp;' * indent}{name} s | {value:.1f} |")
        if name.startswith("tokens/s"):
            started = False
    if "write transactions retried (deadlock or other transient error)" in rows:
        print(f"| write transactions retried | {rows['write transactions retried (deadlock or other transient error)'][1]:.0f} |")
    print(f"| `kgbuild query` entity count, wall s | {float(result['query']):.2f} |")  # type: ignore[arg-type]
    print(f"| rebuild with nothing to do, wall s | {float(result['noop']):.2f} |")  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100, help="Re-DocRED dev documents (at most 100)")
    parser.add_argument("--threads", type=int, default=None, help="--threads for the build and the ceiling (default: the build's)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--fusion-embeddings", default=None, help="--fusion-embeddings for the build (default: the build's)")
    parser.add_argument("--neo4j", action="store_true", help="also build into a Neo4j started from tools/neo4j")
    parser.add_argument("--workdir", type=Path, default=None, help="where the corpus and graphs go (default: a temp dir)")
    args = parser.parse_args()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="kgbuild-build-speed-"))).resolve()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "220",
           "KGBUILD_CACHE_DIR": str(work / "cache")}
    corpus = work / "docs"
    count = write_corpus(corpus, args.docs)
    load_before = os.getloadavg()
    import kgbuild as package

    print(f"kgbuild measured: {Path(package.__file__).parent}")
    print(f"# kgbuild build speed: {count} Re-DocRED dev documents, {os.cpu_count()} cores, "
          f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    results = [measure("embedded store", str(work / "kg"), corpus, args, env)]
    if args.neo4j:
        from kgbuild.testing.neo4j_server import Neo4jServer

        with Neo4jServer(work / "neo4j") as server:
            assert server.uri is not None
            results.append(measure("Neo4j", server.uri, corpus, args, env))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    by_threads, words, windows = encoder_ceiling(corpus, sorted({1, cores, *([args.threads] if args.threads else [])}),
                                                 args.batch_size)
    ceiling = min(by_threads.values())
    print(f"encoder alone: {words:,} words in {windows} windows; "
          + ", ".join(f"{t} thread{'s' if t > 1 else ''} {s:.1f} s" for t, s in by_threads.items()))
    for result in results:
        report(result, ceiling, words)
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")


if __name__ == "__main__":
    main()
