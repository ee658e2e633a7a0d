"""Does continued (domain-adaptive) pretraining help? The experiment behind docs/training.md, end to end.

1. Raw text of Re-DocRED: train_400.json for pretraining, dev_100.json held out for perplexity.
2. Probe: all-MiniLM-L6-v2 ships without an MLM head, so its "before" perplexity is measured after training only a
   fresh head on the same text with the encoder frozen (``--head-only``), for the same number of steps.
3. DAPT: continue pretraining the whole encoder (``kgbuild train pretrain --base``) for those steps.
4. Fine-tune the joint extractor on CoNLL04 from each base (``kgbuild train extract``), same settings, and score both
   on CoNLL04 dev with ``kgbuild eval``.

Every step is the documented CLI command (printed before it runs); outputs go to runs/dapt/ (git-ignored).

    python benchmarks/dapt_evidence.py --steps 90 --batch-size 8 --lr 1e-4 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def kgbuild(*args: str, threads: int) -> str:
    """Run one kgbuild command, echoing it; returns its stdout."""
    print("$ kgbuild " + " ".join(shlex.quote(a) for a in args), flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, "-c", "from kgbuild.cli.app import main; main()", *args], cwd=REPO,
                          env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"command failed with exit code {proc.returncode}")
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "", flush=True)
    return proc.stdout


def export_texts(source: Path, target: Path) -> int:
    """DocRED documents as JSONL lines {"text": ...} (sentence tokens joined by spaces), for kgbuild's readers."""
    docs = json.loads(source.read_text())
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as handle:
        for doc in docs:
            handle.write(json.dumps({"title": doc["title"], "text": " ".join(" ".join(s) for s in doc["sents"])}) + "\n")
    return len(docs)


def perplexities(model_dir: Path) -> tuple[float, float]:
    metrics = json.loads((model_dir / "metrics.json").read_text())
    initial = metrics["summary"]["run"]["initial_eval"]["perplexity"]
    final = [r["perplexity"] for r in metrics["history"] if "perplexity" in r][-1]
    return initial, final


def main() -> None:
    from kgbuild.resources import base_encoder_path, data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=90, help="Pretraining steps (probe and DAPT alike)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--extract-epochs", type=float, default=2)
    parser.add_argument("--extract-batch-size", type=int, default=8)
    parser.add_argument("--skip-extract", action="store_true", help="Only the perplexity part")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "runs" / "dapt"))
    args = parser.parse_args()
    out, data = Path(args.out), data_dir()
    train_txt, dev_txt = out / "redocred_train.jsonl", out / "redocred_dev.jsonl"
    print(f"exported {export_texts(data / 're-docred' / 'train_400.json', train_txt)} + "
          f"{export_texts(data / 're-docred' / 'dev_100.json', dev_txt)} Re-DocRED documents as raw text")
    base = str(base_encoder_path())
    common = ["--corpus", str(train_txt), "--eval-corpus", str(dev_txt), "--base", base, "--max-steps", str(args.steps),
              "--batch-size", str(args.batch_size), "--max-length", str(args.max_length),
              "--eval-every", str(max(1, args.steps // 3)), "--eval-batches", "64"]
    probe, dapt = out / "probe-head-only", out / "minilm-redocred"
    kgbuild("train", "pretrain", *common, "--head-only", "--lr", "1e-3", "--out", str(probe), threads=args.threads)
    kgbuild("train", "pretrain", *common, "--lr", str(args.lr), "--out", str(dapt), threads=args.threads)
    rows = {"probe": perplexities(probe), "dapt": perplexities(dapt)}
    f1 = {}
    if not args.skip_extract:
        conll = data / "conll04"
        for name, location in (("all-MiniLM-L6-v2", base), ("+ DAPT on Re-DocRED", str(dapt))):
            model = out / ("extract-" + ("base" if location == base else "dapt"))
            kgbuild("train", "extract", "--data", str(conll / "conll04_train.json"), "--dev",
                    str(conll / "conll04_dev.json"), "--schema", str(REPO / "schemas" / "conll04.yaml"), "--base",
                    location, "--epochs", str(args.extract_epochs), "--batch-size", str(args.extract_batch_size),
                    "--out", str(model), "--seed", "13",
                    threads=args.threads)
            result = json.loads(kgbuild("eval", "--model", str(model), "--data", str(conll / "conll04_dev.json"),
                                        "--json", threads=args.threads))
            f1[name] = (result["entities"]["f1"], result["relations"]["f1"])
    print("\nheld-out Re-DocRED (dev_100) MLM perplexity")
    print(f"  all-MiniLM-L6-v2, random MLM head        {rows['probe'][0]:12,.1f}")
    print(f"  all-MiniLM-L6-v2, head-only probe        {rows['probe'][1]:12,.1f}   ({args.steps} steps, encoder frozen)")
    print(f"  + continued pretraining (DAPT)           {rows['dapt'][1]:12,.1f}   ({args.steps} steps, all weights)")
    for name, (ent, rel) in f1.items():
        print(f"CoNLL04 dev, base {name:22} entity F1 {ent:.3f}  relation F1 {rel:.3f}")
    (out / "summary.json").write_text(json.dumps({"args": vars(args), "perplexity": rows, "conll04_dev_f1": f1},
                                                 indent=1))


if __name__ == "__main__":
    main()
