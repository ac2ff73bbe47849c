"""Every method behind one interface: heads, probe, untrained variants, PGD, other backbones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

from mvprepro.names import METHOD_KINDS
from mvprepro.train import adversarial, models, probe, prompts
from mvprepro.train.templates import parse_template

TEMPLATES = ["Sentiment of the statement is [MASK] .", "[SEP] The statement is [MASK]"]
VERBALIZER = [["negative"], ["positive"]]
TEXTS = ["the film was good .", "critics hated this movie and the plot is dreadful", "a lovely story"]


def _spec(kind: str, **extra) -> dict:
    spec = {"kind": kind, "name": kind, "num_labels": 2, "max_length": 64, "prompt_reserve": 16, **extra}
    if kind in ("mvp", "clsprompt"):
        spec.update(verbalizer=VERBALIZER, templates=TEMPLATES if kind == "mvp" else [])
    return spec


def _build(backbone, kind: str, **extra) -> models.MethodModel:
    torch.manual_seed(0)
    return models.build(backbone, _spec(kind, **extra)).eval()


def test_every_method_kind_has_a_model_class():
    assert set(models.MODEL_CLASSES) == set(METHOD_KINDS)


@pytest.mark.parametrize("kind", METHOD_KINDS)
def test_every_kind_gives_class_scores_and_roundtrips(tiny_backbone, tokenizer, tmp_path, kind):
    model = _build(tiny_backbone, kind)
    batch = model.collate(tokenizer(TEXTS)["input_ids"])
    with torch.no_grad():
        logits = model(**batch)
    assert logits.shape == (3, 2)
    model.save(tmp_path)
    assert not list(tmp_path.glob("*.bin"))
    loaded = models.load(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(loaded(**loaded.collate(tokenizer(TEXTS)["input_ids"])), logits)


def test_projectcls_has_no_dense_layer(tiny_backbone):
    model = _build(tiny_backbone, "projectcls")
    head = {n for n, _ in model.head.named_parameters()}
    assert head == {"out_proj.weight", "out_proj.bias"}
    assert not [n for n, _ in model.named_parameters() if "classifier" in n or "dense" in n and "head" in n]
    mlp = _build(tiny_backbone, "mlp_ft")
    assert {n for n, _ in mlp.hf.classifier.named_parameters()} == {"dense.weight", "dense.bias", "out_proj.weight", "out_proj.bias"}


def test_lpft_head_equals_the_fitted_probe(tiny_backbone, tokenizer, demo_raw):
    from datasets import load_from_disk
    from sklearn.linear_model import LogisticRegression

    raw = load_from_disk(str(demo_raw["sst2"] / "data"))
    train_ids = tokenizer(list(raw["train"]["sentence"])[:120])["input_ids"]
    train_y = list(raw["train"]["label"])[:120]
    val_ids, val_y = tokenizer(list(raw["validation"]["sentence"]))["input_ids"], list(raw["validation"]["label"])
    model = _build(tiny_backbone, "lpft")
    info = probe.fit_and_init(model, (train_ids, train_y), (val_ids, val_y), grid=(0.1, 1.0))
    assert info["probe_C"] in (0.1, 1.0)
    feats = probe.features(model, train_ids)
    clf = LogisticRegression(C=info["probe_C"], max_iter=2000, random_state=0).fit(feats, train_y)
    with torch.no_grad():
        ours = torch.softmax(model(**model.collate(train_ids)), -1).numpy()
    np.testing.assert_allclose(ours, clf.predict_proba(feats), atol=1e-5)


@pytest.mark.parametrize("kind", ["mlp_ft", "mvp", "clsprompt"])
def test_untrained_variants_share_no_weights_with_the_backbone(tiny_backbone, kind):
    pretrained = dict(_build(tiny_backbone, kind).hf.base_model.named_parameters())
    untrained = _build(tiny_backbone, kind, untrained=True)
    for name, param in untrained.hf.base_model.named_parameters():
        assert not torch.equal(param, pretrained[name]), name
        assert param.data_ptr() != pretrained[name].data_ptr()


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_stays_in_the_epsilon_ball(tiny_backbone, tokenizer, norm):
    model = _build(tiny_backbone, "mvp")
    model.train()
    batch = model.collate(tokenizer(TEXTS)["input_ids"])
    labels = torch.tensor([1, 0, 1])
    eps = 0.5
    delta = adversarial.pgd_delta(model, batch, labels, {"norm": norm, "epsilon": eps, "steps": 3})
    assert model.training  # restored after the attack's eval mode
    pad = batch["attention_mask"] == 0
    assert torch.count_nonzero(delta[pad]) == 0
    if norm == "l2":
        norms = delta.flatten(1).norm(dim=1)
        assert (norms <= eps + 1e-5).all() and (norms > 0).all()
    else:
        assert delta.abs().max() <= eps + 1e-6 and delta.abs().max() > 0
    loss = adversarial.adversarial_loss(model, batch, labels, {"norm": norm, "epsilon": eps})
    loss.backward()
    assert model.hf.get_input_embeddings().weight.grad is not None


def _reference(full, tokenizer, encoded, ids, word_ids, word_classes, specials, causal):
    expected = []
    for text_ids in ids:
        per_template = []
        for tpl in encoded:
            (row,), (mask,) = prompts.insert_templates([text_ids], [tpl], 64, specials)
            with torch.no_grad():
                logits = full(input_ids=torch.tensor([row])).logits[0, mask - 1 if causal else mask]
            per_template.append(torch.stack([max(logits[w] for w, k in zip(word_ids, word_classes) if k == c) for c in (0, 1)]))
        expected.append(torch.stack(per_template).mean(0))
    return torch.stack(expected)


@pytest.mark.parametrize("fixture,causal", [("tiny_bert", False), ("tiny_gpt2", True)])
def test_mvp_on_bert_and_gpt2_matches_full_vocabulary(request, fixture, causal):
    backbone = request.getfixturevalue(fixture)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    model = _build(backbone, "mvp")
    assert model.causal is causal
    ids = tokenizer(TEXTS)["input_ids"]
    with torch.no_grad():
        ours = model(**model.collate(ids))
    full = (AutoModelForCausalLM if causal else AutoModelForMaskedLM).from_pretrained(backbone).eval()
    word_ids, word_classes = prompts.label_word_ids(tokenizer, VERBALIZER)
    encoded = [prompts.encode_template(tokenizer, parse_template(t)) for t in TEMPLATES]
    expected = _reference(full, tokenizer, encoded, ids, word_ids, word_classes, model.specials, causal)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)
    if causal:
        assert model.specials == (0, 0) and tokenizer.pad_token and tokenizer.mask_token


@pytest.mark.parametrize("fixture", ["tiny_bert", "tiny_gpt2"])
def test_mvp_end_to_end_on_bert_and_gpt2(request, fixture, demo_raw, tmp_path):
    """Prepare, tokenize, train, evaluate and attack MVP on another backbone family."""
    from mvprepro import fileio
    from mvprepro.attack import resources
    from mvprepro.attack.merge import merge
    from mvprepro.attack.run import attack_shard
    from mvprepro.data.prepare import prepare
    from mvprepro.data.tokenize import tokenize
    from mvprepro.train.check import check_prompts
    from mvprepro.train.evaluate import evaluate
    from mvprepro.train.finetune import train

    backbone = request.getfixturevalue(fixture)
    prepare(demo_raw["boolq"], tmp_path / "data", {"dataset": "boolq", "task": "boolq", "protocol": {}})
    tokenize(tmp_path / "data", backbone, tmp_path / "tok", {"task": "boolq", "max_length": 96, "prompt_reserve": 16})
    training = {"lr": 2e-3, "batch_size": 16, "grad_accumulation": 1, "group_by_length": False, "max_epochs": 1,
                "weight_decay": 0.01, "patience": 1, "eval_every_steps": None, "max_length": 96, "prompt_reserve": 16,
                "max_eval_examples": None, "device": "cpu"}
    method = {"name": "mvp", "kind": "mvp", "templates": ["Answer to the question is [MASK]", "[SEP] The answer is [MASK]"],
              "verbalizer": [["false"], ["true"]], "adv": {"norm": "l2", "epsilon": 1.0}}
    # The prompts pass the check on this tokenizer, and training accepts the check's output.
    check_prompts({"dataset": "boolq", "backbone": fixture, "method": method, "prompt_reserve": 16}, backbone, tmp_path / "check.json")
    spec = {"dataset": "boolq", "task": "boolq", "num_labels": 2, "backbone": fixture, "seed": 0, "training": training, "method": method}
    train(spec, tmp_path / "tok", backbone, tmp_path / "model", tmp_path / "metrics.json", prompt_check=tmp_path / "check.json")
    evaluate({"batch_size": 32, "device": "cpu"}, tmp_path / "model", tmp_path / "tok", tmp_path / "clean.json")
    assert 0 <= fileio.read_json(tmp_path / "clean.json")["accuracy"] <= 100
    spec_res = {"embeddings": {"counterfitted": {"source": {"builder": "demo"}}}, "nltk": "builtin", "sentence_encoder": "none"}
    resources.fetch(spec_res, tmp_path / "res" / "manifest.json")
    attack_cfg = {"recipe": "textfooler", "num_examples": 4, "shards": 1, "seed": 0, "embedding": "counterfitted",
                  "max_candidates": 50, "min_cos_sim": 0.5, "max_words_perturbed": 0.5, "pos": True,
                  "query_batch_size": 64, "model_batch_size": 32, "variant": "paper"}
    attack_spec = {"attack_name": "textfooler", "attack": attack_cfg, "task": "boolq", "shard": 0, "shards": 1, "device": "cpu"}
    attack_shard(attack_spec, tmp_path / "model", tmp_path / "data", tmp_path / "res" / "manifest.json", tmp_path / "s.jsonl", tmp_path / "s.json")
    merge([str(tmp_path / "s.jsonl")], [str(tmp_path / "s.json")], {"attack_name": "textfooler", "shards": 1}, tmp_path / "a.json", tmp_path / "a.jsonl")
    summary = fileio.read_json(tmp_path / "a.json")
    assert summary["num_examples"] == 4 and summary["robust_accuracy"] <= summary["clean_accuracy"]
