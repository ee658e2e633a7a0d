"""Masked-LM pretraining: packing, masking, a tiny BERT whose loss falls, continued pretraining, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from kgbuild.errors import InputError
from kgbuild.training.corpus import iter_texts
from kgbuild.training.loop import TrainConfig, seed_everything
from kgbuild.training.mlm_data import PackedMlmDataset, mask_tokens
from kgbuild.training.pretrain import PretrainArgs, pretrain

pytestmark = pytest.mark.usefixtures("one_thread")


def _dataset(tokenizer, corpus: Path, **kwargs) -> PackedMlmDataset:  # type: ignore[no-untyped-def]
    kwargs = {"max_length": 64, "batch_size": 8, **kwargs}
    return PackedMlmDataset(lambda: iter_texts([corpus]), tokenizer, **kwargs)


@pytest.fixture(scope="module")
def tokenizer(small_tokenizer_dir: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(small_tokenizer_dir))


def test_packing_uses_every_position_and_loses_no_tokens(tokenizer, training_corpus: Path) -> None:  # type: ignore[no-untyped-def]
    ds = _dataset(tokenizer, training_corpus, shuffle_buffer=0)
    blocks = list(ds._blocks(__import__("random").Random(0)))
    assert all(len(b.input_ids) == 64 for b in blocks)
    assert all(b.input_ids[0] == tokenizer.cls_token_id and b.input_ids[-1] == tokenizer.sep_token_id for b in blocks)
    packed = [t for b in blocks for t in b.input_ids[1:-1]]
    stream = [t for ids, _ in ds._stream() for t in ids]
    assert packed == stream[: len(packed)] and len(stream) - len(packed) < 62  # only the ragged tail is dropped
    batches = list(ds)
    assert all(b["input_ids"].shape[1] == 64 and "attention_mask" not in b for b in batches)  # no padding at all
    assert sum(len(b["input_ids"]) for b in batches) == len(blocks) == ds.count_batches() * 8 - (-len(blocks) % 8)


def test_masking_rates_and_whole_words() -> None:
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (64, 256), generator=gen)
    ids[:, 0], ids[:, -1] = 2, 3
    masked, labels = mask_tokens(ids, [0, 1, 2, 3, 4], 4, 1000, 0.15, gen)
    chosen = labels != -100
    assert 0.14 < chosen.float().mean() < 0.16
    assert not chosen[:, 0].any() and not chosen[:, -1].any()  # special tokens are never predicted
    assert torch.equal(labels[chosen], ids[chosen])
    became_mask = (masked == 4) & chosen
    unchanged = (masked == ids) & chosen
    assert 0.77 < became_mask.sum() / chosen.sum() < 0.83
    assert 0.08 < unchanged.sum() / chosen.sum() < 0.13  # 10% kept, plus random draws that hit the same id
    assert torch.equal(masked[~chosen], ids[~chosen])
    # whole-word: a word of three pieces is either fully predicted or not at all
    word_ids = torch.arange(256).div(3, rounding_mode="floor").expand(64, 256).contiguous()
    _, labels = mask_tokens(ids, [0, 1, 2, 3, 4], 4, 1000, 0.15, gen, word_ids)
    chosen = (labels != -100)[:, 3:-4].reshape(64, -1, 3)
    assert torch.equal(chosen.all(-1), chosen.any(-1))


def test_shards_see_disjoint_blocks_and_equal_batch_counts(tokenizer, training_corpus: Path) -> None:  # type: ignore[no-untyped-def]
    shards = [_dataset(tokenizer, training_corpus, rank=r, world_size=2, shuffle_buffer=0, mlm_probability=0.01)
              for r in range(2)]
    seen = [[tuple(row.tolist()) for b in ds for row in b["labels"].clamp(min=0)] for ds in shards]
    assert len(list(shards[0])) == len(list(shards[1])) == shards[0].count_batches()
    rows = [[tuple(row.tolist()) for b in ds for row in b["input_ids"]] for ds in shards]
    assert len(rows[0]) == len(rows[1]) and not set(rows[0]) & set(rows[1])
    assert seen  # both shards produced labelled rows


def test_dynamic_masks_change_with_the_epoch_and_replay_within_it(tokenizer, training_corpus: Path) -> None:  # type: ignore[no-untyped-def]
    ds = _dataset(tokenizer, training_corpus)
    first, again = next(iter(ds)), next(iter(ds))
    assert torch.equal(first["input_ids"], again["input_ids"])
    ds.set_epoch(1)
    assert not torch.equal(first["labels"], next(iter(ds))["labels"])


def test_tiny_bert_from_scratch_learns(tmp_path: Path, small_tokenizer_dir: Path, training_corpus: Path,
                                       tiny_bert_config: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    held_out = tmp_path / "held_out.txt"
    held_out.write_text((training_corpus / "asian-games.txt").read_text())
    corpus = [str(p) for p in sorted(training_corpus.glob("*.txt")) if p.name != "asian-games.txt"]
    args = PretrainArgs(corpus=corpus, config=str(tiny_bert_config), tokenizer=str(small_tokenizer_dir),
                        eval_corpus=[str(held_out)], max_length=64, batch_size=16, eval_batches=4)
    out = tmp_path / "model"
    pretrain(args, TrainConfig(output_dir=str(out), max_steps=60, learning_rate=2e-3, warmup_ratio=0.1,
                               eval_every=30, log_every=1))
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [r["loss"] for r in metrics["history"] if "loss" in r]
    assert len(losses) == 60
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 0.5  # MLM loss falls (from ln(1000) ~ 6.9)
    evals = [r["perplexity"] for r in metrics["history"] if "perplexity" in r]
    assert evals[-1] < metrics["summary"]["run"]["initial_eval"]["perplexity"]  # on held-out text too
    assert (out / "learning_curve.png").stat().st_size > 1000
    model = AutoModel.from_pretrained(str(out))  # a plain model directory: what `train extract --base` takes
    assert model.config.hidden_size == 64 and len(AutoTokenizer.from_pretrained(str(out))) == 1000


def test_nsp_and_whole_word_masking_train(tmp_path: Path, small_tokenizer_dir: Path, training_corpus: Path,
                                          tiny_bert_config: Path) -> None:
    from transformers import BertForPreTraining

    args = PretrainArgs(corpus=[str(training_corpus)], config=str(tiny_bert_config), tokenizer=str(small_tokenizer_dir),
                        max_length=64, batch_size=8, nsp=True, whole_word_mask=True)
    result = pretrain(args, TrainConfig(output_dir=str(tmp_path), max_steps=4, learning_rate=1e-3))
    assert isinstance(result.model, BertForPreTraining)
    assert BertForPreTraining.from_pretrained(str(tmp_path)).config.vocab_size == 1000


def test_continued_pretraining_from_the_shipped_encoder(tmp_path: Path, training_corpus: Path) -> None:
    from transformers import AutoModel

    from kgbuild.resources import base_encoder_path

    base = base_encoder_path()
    before = AutoModel.from_pretrained(str(base)).embeddings.word_embeddings.weight.detach().clone()
    args = PretrainArgs(corpus=[str(training_corpus / "alexeni.txt")], base=str(base), max_length=32, batch_size=2,
                        shuffle_buffer=0)
    pretrain(args, TrainConfig(output_dir=str(tmp_path), max_steps=2, learning_rate=1e-4, warmup_steps=0))
    after = AutoModel.from_pretrained(str(tmp_path)).embeddings.word_embeddings.weight
    assert after.shape == before.shape and not torch.equal(after, before)


def test_cli_pretrain_and_its_errors(tmp_path: Path, small_tokenizer_dir: Path, training_corpus: Path) -> None:
    from kgbuild.cli.app import app

    runner = CliRunner()
    result = runner.invoke(app, ["train", "pretrain", "--corpus", str(training_corpus / "alexeni.txt"),
                                 "--config", "small", "--tokenizer", str(small_tokenizer_dir), "--max-steps", "2",
                                 "--batch-size", "2", "--max-length", "32", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "2 steps, train loss" in result.output
    assert (tmp_path / "m" / "model.safetensors").exists()
    with pytest.raises(InputError, match="exactly one of --base"):
        pretrain(PretrainArgs(corpus=[str(training_corpus)], tokenizer=str(small_tokenizer_dir)),
                 TrainConfig(output_dir=str(tmp_path / "x"), max_steps=1))
    with pytest.raises(InputError, match="needs --tokenizer"):
        pretrain(PretrainArgs(corpus=[str(training_corpus)], config="small"),
                 TrainConfig(output_dir=str(tmp_path / "x"), max_steps=1))


def test_head_only_probe_keeps_the_encoder(tmp_path: Path, training_corpus: Path) -> None:
    from transformers import AutoModel, BertForMaskedLM

    from kgbuild.resources import base_encoder_path

    base = base_encoder_path()
    args = PretrainArgs(corpus=[str(training_corpus / "alexeni.txt")], base=str(base), max_length=32, batch_size=2,
                        shuffle_buffer=0, head_only=True)
    result = pretrain(args, TrainConfig(output_dir=str(tmp_path), max_steps=2, learning_rate=1e-3, warmup_steps=0))
    before, after = AutoModel.from_pretrained(str(base)).state_dict(), AutoModel.from_pretrained(str(tmp_path)).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in after if not k.startswith("pooler"))
    head = BertForMaskedLM.from_pretrained(str(tmp_path)).cls.predictions.transform.dense.weight
    assert torch.equal(head, result.model.cls.predictions.transform.dense.weight.detach())
    seed_everything(13)  # pretrain seeds the same way before building the model: this is the head it started from
    initial = BertForMaskedLM.from_pretrained(str(base)).cls.predictions.transform.dense.weight
    assert not torch.equal(head, initial)


def test_dataloader_workers_split_the_documents(tokenizer, training_corpus: Path) -> None:  # type: ignore[no-untyped-def]
    ds = _dataset(tokenizer, training_corpus, shuffle_buffer=0, tokenize_batch=4)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    rows = [tuple(r.tolist()) for b in loader for r in b["labels"].clamp(min=0)]
    assert len({len(b["input_ids"]) for b in loader}) <= 3  # full batches, plus at most one short one per worker
    assert sum(len(b["input_ids"]) for b in loader) == sum(1 for _ in rows)
    assert len(list(loader)) == ds.count_batches(num_workers=2)
    # every token of every document is in exactly one worker's stream (each packs its own documents)
    one = sorted(t for ids, _ in ds._stream() for t in ids)
    two = sorted(t for part in range(2) for ids, _ in ds._stream(part, 2) for t in ids)
    assert one == two
