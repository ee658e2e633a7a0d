"""The model's own pieces: adaptive-threshold loss, batched heads over collated real data."""

from __future__ import annotations

import torch

from kgbuild.extract.batching import collate
from kgbuild.extract.model import adaptive_threshold_loss
from kgbuild.resources import REPO_ROOT
from kgbuild.schema import load_schema
from tests.datafiles import dataset


def test_adaptive_threshold_loss_rewards_positives_above_and_negatives_below_the_threshold():
    labels = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # pair 1: relation 1; pair 2: none
    good = torch.tensor([[0.0, 5.0, -5.0], [0.0, -5.0, -5.0]])
    bad = torch.tensor([[0.0, -5.0, 5.0], [0.0, 5.0, 5.0]])
    assert adaptive_threshold_loss(good, labels) < 0.05
    assert adaptive_threshold_loss(bad, labels) > 5.0
    assert labels[1, 0] == 1.0  # the loss must not modify its inputs


def test_forward_returns_all_losses_and_trains_the_heads(tiny_extractor_dir):
    from transformers import AutoTokenizer

    from kgbuild.extract.saved import load_extractor
    from kgbuild.datasets import read_annotations
    from kgbuild.training.finetune import build_inputs

    schema = load_schema(REPO_ROOT / "schemas" / "default.yaml")
    path = tiny_extractor_dir(REPO_ROOT / "schemas" / "default.yaml")
    model, _, _ = load_extractor(path)
    model.config.coref = "learned"
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    docs = read_annotations(dataset("re-docred/dev_100.json"), schema)[:2]
    batch = collate(build_inputs(docs, tokenizer, schema, 128), len(schema.relation_names))
    # 128 positions: these documents need several chunks each, so the global indices cross chunk boundaries
    assert batch["input_ids"].shape[0] > 2 and batch["input_ids"].shape[1] <= 128
    model.train()
    out = model(**batch)
    assert {"loss", "entity_loss", "relation_loss", "coref_loss"} <= set(out)
    assert all(torch.isfinite(v) for v in out.values())
    out["loss"].backward()
    for name in ("entity_head.weight", "bilinear.weight", "coref_head.0.weight", "context_query.weight"):
        assert model.get_parameter(name).grad is not None and model.get_parameter(name).grad.abs().sum() > 0


def test_inference_shortcuts_of_the_relation_head_give_the_training_path_logits(tiny_extractor_dir):
    """The factored pair states equal the concatenate-then-project ones, and schema-restricted logits equal the full
    logits on every allowed column (``-inf`` elsewhere), on real documents."""
    from transformers import AutoTokenizer

    from kgbuild.extract.decode import allowed_mask, relation_columns
    from kgbuild.extract.saved import load_extractor
    from kgbuild.datasets import read_annotations
    from kgbuild.training.finetune import build_inputs

    schema = load_schema(REPO_ROOT / "schemas" / "default.yaml")
    path = tiny_extractor_dir(REPO_ROOT / "schemas" / "default.yaml")
    model, _, _ = load_extractor(path)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    docs = read_annotations(dataset("re-docred/dev_100.json"), schema)[:3]
    batch = collate(build_inputs(docs, tokenizer, schema, 128), len(schema.relation_names))
    model.eval()
    with torch.inference_mode():
        flat = model.encode(batch["input_ids"], batch["attention_mask"])
        entities = model.entity_embeddings(model.mention_embeddings(flat, batch["mention_index"], batch["mention_mask"]),
                                           batch["cluster_index"], batch["cluster_mask"])
        args = (flat, entities, batch["entity_types"], batch["context_index"], batch["context_mask"], batch["pair_index"])
        for got, want in zip(model._pair_states_factored(*args), model._pair_states(*args)):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
        mask = allowed_mask(schema, model.config.entity_types, model.config.relation_types)
        allowed = torch.from_numpy(relation_columns(mask))
        full = model.relation_logits(*args, batch["pair_mask"])
        restricted = model.relation_logits(*args, batch["pair_mask"], allowed)
    types = batch["entity_types"]
    keep = allowed[types[batch["pair_index"][..., 0]], types[batch["pair_index"][..., 1]]] & batch["pair_mask"][..., None]
    assert keep[..., 1:].any() and not keep[..., 1:].all()  # both kinds of column are exercised
    torch.testing.assert_close(restricted[keep], full[keep], atol=1e-5, rtol=1e-4)
    assert torch.isneginf(restricted[~keep]).all()


def test_prepared_relation_columns_are_gathered_once_and_give_the_same_logits(tiny_extractor_dir):
    """Inference's weight slices, gathered once per model and schema mask (issue 15), give bit-for-bit the logits of
    the slices gathered per call; they are reused while the weight stands and gathered again once it changes."""
    from transformers import AutoTokenizer

    from kgbuild.extract.decode import allowed_mask, relation_columns
    from kgbuild.extract.saved import load_extractor
    from kgbuild.datasets import read_annotations
    from kgbuild.training.finetune import build_inputs

    schema = load_schema(REPO_ROOT / "schemas" / "default.yaml")
    model, _, _ = load_extractor(tiny_extractor_dir(REPO_ROOT / "schemas" / "default.yaml"))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_extractor_dir(REPO_ROOT / "schemas" / "default.yaml")))
    docs = read_annotations(dataset("re-docred/dev_100.json"), schema)[:3]
    batch = collate(build_inputs(docs, tokenizer, schema, 128), len(schema.relation_names))
    model.eval()
    columns = relation_columns(allowed_mask(schema, model.config.entity_types, model.config.relation_types))
    prepared = model.prepared_columns(columns)
    assert model.prepared_columns(columns.copy()) is prepared  # same mask: kept, not gathered again
    with torch.inference_mode():
        flat = model.encode(batch["input_ids"], batch["attention_mask"])
        entities = model.entity_embeddings(model.mention_embeddings(flat, batch["mention_index"], batch["mention_mask"]),
                                           batch["cluster_index"], batch["cluster_mask"])
        args = (flat, entities, batch["entity_types"], batch["context_index"], batch["context_mask"],
                batch["pair_index"], batch["pair_mask"])
        per_call = model.relation_logits(*args, torch.from_numpy(columns))
        once = model.relation_logits(*args, prepared)
    assert torch.equal(per_call, once)
    with torch.no_grad():
        model.bilinear.weight.mul_(2.0)
    assert model.prepared_columns(columns) is not prepared  # a changed weight is seen
