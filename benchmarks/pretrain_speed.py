"""Masked-LM training throughput: kgbuild's pretraining loop against a plain transformers Trainer baseline.

Same model (fresh copy, same seed), same documents, same batch size and sequence length, same optimizer settings,
one process, one run. The baseline is the usual recipe without packing: one example per document (truncated to
--max-length), ``DataCollatorForLanguageModeling`` padding each batch to its longest example, ``Trainer`` driving.
kgbuild packs documents into full blocks (no padding) and, by default, runs the MLM head on masked positions only;
the middle row (packing, dense head) shows how much each part contributes.

Throughput counts real tokens only (attention-mask ones; packed blocks have no padding), from the end of the warm-up
steps to the last step. Achieved TFLOP/s counts the matrix FLOPs each variant actually executes (padding included,
dense vs sparse head as run); on a GPU it is also given as MFU against --peak-tflops.

    python benchmarks/pretrain_speed.py                      # CPU: all-MiniLM-L6-v2 on Re-DocRED text
    python benchmarks/pretrain_speed.py --model base --tokenizer DIR --batch-size 64 --max-length 512 --steps 60
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def docred_texts(path: Path) -> list[str]:
    """Raw text of DocRED-format documents: sentences' tokens joined by spaces."""
    return [" ".join(" ".join(s) for s in doc["sents"]) for doc in json.loads(path.read_text())]


def load_texts(corpus: str) -> list[str]:
    path = Path(corpus)
    if path.suffix == ".json":
        return docred_texts(path)
    if path.suffix == ".jsonl":
        return [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    from kgbuild.training.corpus import iter_texts

    return list(iter_texts([corpus]))


def new_model(name: str, tokenizer: Any, max_length: int, seed: int) -> torch.nn.Module:
    from transformers import AutoModelForMaskedLM, BertConfig, BertForMaskedLM
    from transformers.utils import logging as hf_logging

    from kgbuild.training.pretrain import PRESETS

    hf_logging.set_verbosity_error()
    torch.manual_seed(seed)
    if name in PRESETS:
        config = BertConfig(**PRESETS[name], vocab_size=len(tokenizer), max_position_embeddings=max(512, max_length))
        return BertForMaskedLM(config)
    return AutoModelForMaskedLM.from_pretrained(name)


def matmul_flops(config: Any, rows: int, length: int, predicted: int) -> float:
    """Training FLOPs (3x forward) of a BERT step: encoder on rows x length, MLM head on ``predicted`` positions."""
    h, inter, layers, vocab = config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size
    tokens = rows * length
    encoder = layers * (2 * tokens * (4 * h * h + 2 * h * inter) + 4 * rows * length * length * h)
    head = 2 * predicted * (h * h + h * vocab)
    return 3.0 * (encoder + head)


class Tap:
    """Re-iterable wrapper that records (rows, length, real tokens, predicted tokens) of every batch it yields."""

    def __init__(self, data: Any):
        self.data, self.seen = data, []

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.data, "dataset") and hasattr(self.data.dataset, "set_epoch"):
            self.data.dataset.set_epoch(epoch)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for batch in self.data:
            self.seen.append(_shape(batch))
            yield batch


def _shape(batch: dict[str, torch.Tensor]) -> tuple[int, int, int, int]:
    rows, length = batch["input_ids"].shape
    real = int(batch["attention_mask"].sum()) if "attention_mask" in batch else rows * length
    return rows, length, real, int((batch["labels"] != -100).sum())


def run_kgbuild(args: argparse.Namespace, texts: list[str], tokenizer: Any, sparse: bool) -> dict[str, Any]:
    """kgbuild's pretraining pieces as ``kgbuild train pretrain`` wires them: packed stream, shared loop."""
    import tempfile

    from kgbuild.training.loop import TrainConfig, train
    from kgbuild.training.mlm_data import PackedMlmDataset
    from kgbuild.training.pretrain import PretrainArgs, wrap_for_training

    model = new_model(args.model, tokenizer, args.max_length, args.seed)
    model = wrap_for_training(model, PretrainArgs(corpus=[], sparse_head=sparse))
    dataset = PackedMlmDataset(lambda: iter(texts), tokenizer, max_length=args.max_length, batch_size=args.batch_size,
                               seed=args.seed)
    data = Tap(torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=args.num_workers))
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(output_dir=out, max_steps=args.steps, learning_rate=args.lr, log_every=10**9,
                             save_final_model=False, cpu=args.device == "cpu")
        stamps = [(info.step, info.elapsed_s) for info in train(model, data, config)]
    times = [t for _, t in stamps]
    return _result("kgbuild loop, packed" + (", sparse MLM head" if sparse else ", dense MLM head"),
                   data.seen[: args.steps], times, args, model.config, sparse)


def run_trainer(args: argparse.Namespace, texts: list[str], tokenizer: Any) -> dict[str, Any]:
    """The baseline: Trainer + DataCollatorForLanguageModeling, one padded example per document."""
    import tempfile

    from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments

    model = new_model(args.model, tokenizer, args.max_length, args.seed)
    examples = [{"input_ids": ids} for ids in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=0.15)
    seen: list[tuple[int, int, int, int]] = []

    def collate(features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = collator(features)
        seen.append(_shape(batch))
        return batch

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, *a: Any, **k: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            if args.device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch_size, max_steps=args.steps, learning_rate=args.lr,
            warmup_steps=0.06, weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear",
            logging_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True, seed=args.seed,
            use_cpu=args.device == "cpu", bf16=args.device == "cuda", dataloader_num_workers=0,  # pre-tokenized
        )
        Trainer(model=model, args=targs, train_dataset=examples, data_collator=collate, callbacks=[Clock()]).train()
    return _result("transformers Trainer + DataCollatorForLanguageModeling (padded)", seen[: args.steps], times,
                   args, model.config, sparse=False)


def _result(name: str, shapes: list[tuple[int, int, int, int]], times: list[float], args: argparse.Namespace,
            config: Any, sparse: bool) -> dict[str, Any]:
    w = args.warmup
    measured = shapes[w:len(times)]
    seconds = times[-1] - times[w - 1]
    real = sum(s[2] for s in measured)
    computed = sum(s[0] * s[1] for s in measured)
    flops = sum(matmul_flops(config, r, n, p if sparse else r * n) for r, n, _, p in measured)
    return {"variant": name, "steps": len(measured), "real_tokens": real, "padding": 1 - real / computed,
            "tokens_per_s": real / seconds, "tflops": flops / seconds / 1e12, "seconds": seconds}


def _combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over rounds: tokens and FLOPs summed, divided by the summed measured time."""
    seconds = sum(r["seconds"] for r in rounds)
    real = sum(r["real_tokens"] for r in rounds)
    return {**rounds[0], "steps": sum(r["steps"] for r in rounds), "real_tokens": real, "seconds": seconds,
            "tokens_per_s": real / seconds, "tflops": sum(r["tflops"] * r["seconds"] for r in rounds) / seconds,
            "padding": sum(r["padding"] for r in rounds) / len(rounds),
            "rounds_tokens_per_s": [round(r["tokens_per_s"], 1) for r in rounds]}


def main() -> None:
    from transformers import AutoTokenizer

    from kgbuild.resources import base_encoder_path, data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="Model dir/hub id, or small|base (from scratch). "
                        "Default: the shipped all-MiniLM-L6-v2")
    parser.add_argument("--tokenizer", default=None, help="Tokenizer dir (default: the model's)")
    parser.add_argument("--corpus", default=None, help="Default: Re-DocRED train_400.json (raw text of 400 documents)")
    parser.add_argument("--repeat", type=int, default=1, help="Repeat the corpus N times (long GPU runs: one epoch)")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--warmup", type=int, default=4, help="Steps excluded from the timing")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (all variants)")
    parser.add_argument("--num-workers", type=int, default=0, help="kgbuild's DataLoader workers (it tokenizes on the "
                        "fly; the baseline is tokenized before timing starts and collates in the main process)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--peak-tflops", type=float, default=None, help="For MFU (default: by GPU name, bf16 dense)")
    parser.add_argument("--rounds", type=int, default=2, help="Interleaved repetitions of the three variants")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", default=None, help="Also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    shipped = args.model is None
    args.model = args.model or str(base_encoder_path())
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer or args.model)
    texts = load_texts(args.corpus or str(data_dir() / "re-docred" / "train_400.json")) * args.repeat

    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):  # interleaved, so a busy neighbour slows every variant alike
        for result in (run_trainer(args, texts, tokenizer), run_kgbuild(args, texts, tokenizer, sparse=False),
                       run_kgbuild(args, texts, tokenizer, sparse=True)):
            runs.setdefault(result["variant"], []).append(result)
    results = [_combine(rs) for rs in runs.values()]
    device = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU, {args.threads} threads"
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device), None)
    print(f"\nmodel {'all-MiniLM-L6-v2' if shipped else Path(args.model).name}, {len(texts)} documents, batch {args.batch_size} x {args.max_length}, "
          f"{args.steps} steps ({args.warmup} warm-up excluded) x {args.rounds} rounds, {device}")
    header = f"{'variant':66} {'real tok/s':>11} {'padding':>8} {'TFLOP/s':>8}" + (f" {'MFU':>6}" if peak else "")
    print(header + f" {'vs Trainer':>10}")
    base = results[0]["tokens_per_s"]
    for r in results:
        mfu = f" {r['tflops'] / peak:6.1%}" if peak and args.device == "cuda" else ""
        print(f"{r['variant']:66} {r['tokens_per_s']:11,.0f} {r['padding']:8.1%} {r['tflops']:8.3f}{mfu}"
              f" {r['tokens_per_s'] / base:9.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "args": vars(args), "results": results}, indent=1))


if __name__ == "__main__":
    main()
