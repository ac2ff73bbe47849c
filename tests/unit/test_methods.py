"""Every method behind one interface: heads, probe, untrained variants, PGD, other backbones."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

from mvprepro.download.download_attack_resources import fetch as fetch_attack_resources
from mvprepro.names import METHOD_KINDS
from mvprepro.train import adversarial, models, probe, prompts
from mvprepro.train.templates import parse_template

TEMPLATES = ["Sentiment of the statement is [MASK] .", "[SEP] The statement is [MASK]"]
VERBALIZER = [["negative"], ["positive"]]
TEXTS = ["the film was good .", "critics hated this movie and the plot is dreadful", "a lovely story"]


def _spec(kind: str, **extra) -> dict:
    spec = {"kind": kind, "name": kind, "num_labels": 2, "max_length": 64, "prompt_reserve": 16, "backbone": "tiny"}
    if kind in ("mvp", "clsprompt"):
        spec.update(verbalizer=VERBALIZER, templates=TEMPLATES if kind == "mvp" else [], pool_label_words="max", pool_templates="mean")
    return {**spec, **extra}


def _adv(**settings) -> dict:
    """An ``adv:`` entry as the schema fills it."""
    return {"norm": "l2", "epsilon": 1.0, "steps": 1, "step_size": None, "random_start": True, "select_on": "perturbed", **settings}


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


def _probe_data(tokenizer, demo_raw):
    from datasets import load_from_disk

    raw = load_from_disk(str(demo_raw["sst2"] / "data"))
    train = tokenizer(list(raw["train"]["sentence"])[:120])["input_ids"], list(raw["train"]["label"])[:120]
    validation = tokenizer(list(raw["validation"]["sentence"]))["input_ids"], list(raw["validation"]["label"])
    return train, validation


def _fitted(tiny_backbone, tokenizer, demo_raw, kind):
    """A model of ``kind`` with its probe fitted and copied in; the probe and its features."""
    train, validation = _probe_data(tokenizer, demo_raw)
    model = _build(tiny_backbone, kind)
    info, clf = probe.fit(model, train, validation, grid=(0.1, 1.0))
    assert info["probe_C"] in (0.1, 1.0) and clf.C == 2 * info["probe_C"]  # two classes: binomial at 2C
    probe.init_head(model, clf)
    model.eval()
    feats = probe.features(model, train[0], dropout=False)
    proba = clf.predict_proba(feats)
    assert 0.02 < proba[:, 1].std()  # a probe that separates something, so a class swap shows
    return model, clf, train[0], feats, proba


def _assert_same_classes(logits: torch.Tensor, clf, feats, proba) -> None:
    """Logits reproduce the probe class for class (the reference code's binary [w, -w]
    initialisation would swap the two columns)."""
    ours = torch.softmax(logits, -1).numpy()
    np.testing.assert_allclose(ours, proba, atol=1e-5)
    assert (ours.argmax(1) == clf.predict(feats)).all()
    assert not np.allclose(ours[:, ::-1], proba, atol=1e-3)


def _start_state(model, ids):
    batch = model.collate(ids)
    with torch.no_grad():
        return model.hf.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state[:, 0]


def test_lpft_sparse_head_equals_the_fitted_probe(tiny_backbone, tokenizer, demo_raw):
    """lpft_sparse: the ProjectCLS head, probe in out_proj; the initialised model (eval mode)
    predicts what the probe predicts."""
    model, clf, ids, feats, proba = _fitted(tiny_backbone, tokenizer, demo_raw, "lpft_sparse")
    assert isinstance(model.head, models.ProjectClsHead) and model.probe_layer() is model.head.out_proj
    assert {n for n, _ in model.head.named_parameters()} == {"out_proj.weight", "out_proj.bias"}
    assert not hasattr(model.hf, "classifier")
    np.testing.assert_allclose(feats, torch.tanh(_start_state(model, ids)).numpy(), atol=1e-6)
    with torch.no_grad():
        logits = model(**model.collate(ids))
    _assert_same_classes(logits, clf, feats, proba)


def test_lpft_keeps_the_mlp_head_with_the_probe_in_out_proj(tiny_backbone, tokenizer, demo_raw):
    """lpft (the reference code's): dense -> tanh -> out_proj on <s>, dense as mlp_ft's new
    one; the probe, fitted on tanh(<s>) (not through dense), goes into out_proj only."""
    model, clf, ids, feats, proba = _fitted(tiny_backbone, tokenizer, demo_raw, "lpft")
    head = model.hf.classifier
    assert {n for n, _ in head.named_parameters()} == {"dense.weight", "dense.bias", "out_proj.weight", "out_proj.bias"}
    assert model.probe_layer() is head.out_proj and not model.extra_modules()
    mlp = _build(tiny_backbone, "mlp_ft")  # the same seed: the same newly initialised dense layer
    torch.testing.assert_close(head.dense.weight, mlp.hf.classifier.dense.weight)
    torch.testing.assert_close(head.dense.bias, mlp.hf.classifier.dense.bias)
    h = _start_state(model, ids)
    # The probe's features are tanh(<s>), the same as lpft_sparse's from the same encoder.
    np.testing.assert_allclose(feats, torch.tanh(h).numpy(), atol=1e-6)
    sparse = _build(tiny_backbone, "lpft_sparse")
    np.testing.assert_allclose(feats, probe.features(sparse, ids, dropout=False), atol=1e-5)
    with torch.no_grad():
        # out_proj holds the probe, class for class ...
        _assert_same_classes(head.out_proj(torch.tanh(h)), clf, feats, proba)
        # ... but the model reads it through the dense layer, as the reference's lpft does.
        logits = model(**model.collate(ids))
        torch.testing.assert_close(logits, head.out_proj(torch.tanh(head.dense(h))))
        assert not torch.allclose(logits, head.out_proj(torch.tanh(h)), atol=1e-3)


@pytest.mark.parametrize("kind", ["lpft", "lpft_sparse"])
def test_probe_follows_the_reference_protocol(tiny_backbone, tokenizer, kind):
    """50 values of C from logspace(-1, 2), at most 500 iterations, features with dropout on."""
    assert len(probe.DEFAULT_C) == 50 and probe.DEFAULT_C[0] == pytest.approx(0.1) and probe.DEFAULT_C[-1] == pytest.approx(100.0)
    assert probe.MAX_ITER == 500
    model = _build(tiny_backbone, kind).eval()
    ids = tokenizer(["the film was good .", "a dull mess"])["input_ids"]
    torch.manual_seed(0)
    noisy = probe.features(model, ids)
    assert not model.training  # the model's mode is restored
    assert not np.allclose(noisy, probe.features(model, ids, dropout=False))


def test_probe_minimises_the_reference_multinomial_loss():
    """Two classes, fitted binomially at sklearn_C = 2C, sit at the optimum of the reference's
    multinomial loss at C: C * sum(cross-entropy) + (|w_0|^2 + |w_1|^2) / 2, w_0 = -w_1 = -d/2."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = np.tanh(rng.normal(size=(300, 16)))
    y = (x @ rng.normal(size=16) + rng.normal(size=300) > 0).astype(int)
    assert probe.sklearn_C(0.5, 2) == 1.0 and probe.sklearn_C(0.5, 4) == 0.5
    for c in (0.1, 1.0, 10.0):
        clf = LogisticRegression(C=probe.sklearn_C(c, 2), tol=1e-10, max_iter=10_000).fit(x, y)
        d, b = clf.coef_[0], clf.intercept_[0]
        w = np.stack([-d / 2, d / 2])
        logits = x @ w.T + np.array([-b / 2, b / 2])
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad_w = c * (p - np.eye(2)[y]).T @ x + w  # the multinomial objective's gradient
        grad_b = c * (p - np.eye(2)[y]).sum(0)
        assert np.abs(grad_w).max() < 1e-5 * max(1.0, np.abs(w).max()) and np.abs(grad_b).max() < 1e-5
        # The binomial fit at C itself is not that optimum.
        other = LogisticRegression(C=c, tol=1e-10, max_iter=10_000).fit(x, y).coef_[0]
        assert not np.allclose(other, d, rtol=1e-3)


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
    delta = adversarial.pgd_delta(model, batch, labels, _adv(norm=norm, epsilon=eps, steps=3))
    assert model.training  # restored after the attack's eval mode
    pad = batch["attention_mask"] == 0
    assert torch.count_nonzero(delta[pad]) == 0
    if norm == "l2":
        norms = delta.flatten(1).norm(dim=1)
        assert (norms <= eps + 1e-5).all() and (norms > 0).all()
    else:
        assert delta.abs().max() <= eps + 1e-6 and delta.abs().max() > 0
    loss = adversarial.adversarial_loss(model, batch, labels, _adv(norm=norm, epsilon=eps))
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
    back = ["[SEP] [MASK] ", "[SEP] The statement is [MASK] "]  # a causal LM needs templates after the input
    model = _build(backbone, "mvp", templates=back)
    assert model.causal is causal
    ids = tokenizer(TEXTS)["input_ids"]
    with torch.no_grad():
        ours = model(**model.collate(ids))
    full = (AutoModelForCausalLM if causal else AutoModelForMaskedLM).from_pretrained(backbone).eval()
    # Neither BERT nor GPT-2 gets RoBERTa's space token; GPT-2 reads label words bare.
    word_ids, word_classes = prompts.label_word_ids(tokenizer, VERBALIZER, leading_space=not causal)
    encoded = [prompts.encode_template(tokenizer, parse_template(t)) for t in back]
    expected = _reference(full, tokenizer, encoded, ids, word_ids, word_classes, model.specials, causal)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)
    if causal:
        assert model.specials == (0, 0) and tokenizer.pad_token and tokenizer.mask_token


@pytest.mark.parametrize("fixture", ["tiny_bert", "tiny_gpt2"])
def test_mvp_end_to_end_on_bert_and_gpt2(request, fixture, demo_raw, tmp_path):
    """Prepare, tokenize, train, evaluate and attack MVP on another backbone family."""
    from mvprepro import fileio
    from mvprepro.attack.merge_attack import merge_attack
    from mvprepro.attack.attack import attack
    from mvprepro.data.prepare import prepare
    from mvprepro.data.tokenize import tokenize
    from mvprepro.train.check_prompts import check_prompts
    from mvprepro.train.evaluate import evaluate
    from mvprepro.train.train import train

    backbone = request.getfixturevalue(fixture)
    prepare(demo_raw["boolq"], tmp_path / "data", {"dataset": "boolq", "task": "boolq", "protocol": {}})
    tokenize(tmp_path / "data", backbone, tmp_path / "tok", {"task": "boolq", "max_length": 96, "prompt_reserve": 16})
    training = {"lr": 2e-3, "batch_size": 16, "grad_accumulation": 1, "group_by_length": False, "max_epochs": 1,
                "weight_decay": 0.01, "patience": 1, "eval_every_steps": None, "scale_eval_with_templates": True,
                "max_grad_norm": 1.0, "precision": "fp32", "max_length": 96, "prompt_reserve": 16,
                "max_eval_examples": None, "degenerate_share": 0.95, "device": "cpu"}
    # The reference code's GPT-2 templates: both follow the input (a causal LM cannot read
    # the input from a template placed before it).
    method = {"name": "mvp", "kind": "mvp", "templates": ["[SEP] I think [MASK]", "[SEP] The answer is [MASK]"],
              "verbalizer": [["false"], ["true"]], "pool_label_words": "max", "pool_templates": "mean", "adv": _adv()}
    # The prompts pass the check on this tokenizer, and training accepts the check's output.
    check_prompts({"dataset": "boolq", "backbone": fixture, "method": method, "max_length": 96}, backbone, tmp_path / "check.json")
    spec = {"dataset": "boolq", "task": "boolq", "num_labels": 2, "backbone": fixture, "seed": 0, "training": training, "method": method}
    train(spec, tmp_path / "tok", backbone, tmp_path / "model", tmp_path / "metrics.json", prompt_check=tmp_path / "check.json")
    metrics = fileio.read_json(tmp_path / "metrics.json")
    assert metrics["selected_on"] == "perturbed"
    assert {"val_accuracy", "val_accuracy_clean", "val_accuracy_perturbed"} <= set(metrics["history"][-1])
    evaluate({"batch_size": 32, "device": "cpu", "precision": "fp32", "degenerate_share": 0.95}, tmp_path / "model", tmp_path / "tok", tmp_path / "clean.json")
    assert 0 <= fileio.read_json(tmp_path / "clean.json")["accuracy"] <= 100
    spec_res = {"embeddings": {"counterfitted": {"source": {"builder": "demo"}}}, "nltk": "builtin", "sentence_encoder": "none"}
    fetch_attack_resources(spec_res, tmp_path / "res" / "manifest.json")
    attack_cfg = {"recipe": "textfooler", "num_examples": 4, "shards": 1, "seed": 0, "embedding": "counterfitted",
                  "max_candidates": 50, "min_cos_sim": 0.5, "max_words_perturbed": 0.5, "pos": True,
                  "query_batch_size": 64, "model_batch_size": 32, "variant": "paper"}
    attack_spec = {"attack_name": "textfooler", "attack": attack_cfg, "task": "boolq", "shard": 0, "shards": 1, "device": "cpu", "precision": "fp32"}
    attack(attack_spec, tmp_path / "model", tmp_path / "data", tmp_path / "res" / "manifest.json", tmp_path / "s.jsonl", tmp_path / "s.json")
    merge_attack([str(tmp_path / "s.jsonl")], [str(tmp_path / "s.json")], {"attack_name": "textfooler", "shards": 1}, tmp_path / "a.json", tmp_path / "a.jsonl")
    summary = fileio.read_json(tmp_path / "a.json")
    assert summary["num_examples"] == 4 and summary["robust_accuracy"] <= summary["clean_accuracy"]


# ---------------------------------------------------------------- the reference protocol


def test_projectcls_head_gets_the_reference_initialisation(tiny_backbone):
    head = _build(tiny_backbone, "projectcls").head.out_proj
    assert torch.count_nonzero(head.bias) == 0
    assert 0.01 < float(head.weight.detach().std()) < 0.03  # normal(0, initializer_range = 0.02)


def test_clsprompt_reads_bare_label_words_and_mvp_spaced_ones(tiny_backbone, tokenizer):
    bare = tokenizer("negative", add_special_tokens=False)["input_ids"]
    spaced = tokenizer(" negative", add_special_tokens=False)["input_ids"]
    assert len(bare) == len(spaced) == 1 and bare != spaced
    assert int(_build(tiny_backbone, "clsprompt").word_ids[0]) == bare[0]
    assert int(_build(tiny_backbone, "mvp").word_ids[0]) == spaced[0]


def test_mvp_validates_every_interval_times_its_templates():
    from mvprepro.train.train import evaluation_interval

    cfg = {"eval_every_steps": 1000, "scale_eval_with_templates": True}
    four = {"kind": "mvp", "templates": ["a [MASK]"] * 4}
    assert evaluation_interval(cfg, four, 500) == 4000  # the reference code: 1000 x 4 templates
    assert evaluation_interval(cfg, {"kind": "mlp_ft"}, 500) == 1000
    assert evaluation_interval(cfg, {"kind": "clsprompt", "templates": []}, 500) == 1000
    assert evaluation_interval({**cfg, "scale_eval_with_templates": False}, four, 500) == 1000
    assert evaluation_interval({**cfg, "eval_every_steps": None}, four, 500) == 500  # once per epoch


def test_perturbed_validation_is_reproducible_and_leaves_training_randomness_alone(tiny_backbone, tokenizer):
    model = _build(tiny_backbone, "mvp")
    ids, labels = tokenizer(TEXTS)["input_ids"], [1, 0, 1]
    state = torch.get_rng_state()
    first = adversarial.perturbed_accuracy(model, ids, labels, _adv(epsilon=5.0), seed=3)
    assert torch.equal(state, torch.get_rng_state())
    assert adversarial.perturbed_accuracy(model, ids, labels, _adv(epsilon=5.0), seed=3) == first
    assert not model.training
    # With a zero-size perturbation it is the clean accuracy.
    from mvprepro.train.predict import accuracy

    clean = accuracy(model, ids, labels)
    assert adversarial.perturbed_accuracy(model, ids, labels, _adv(epsilon=1e-9, random_start=False), seed=3) == clean


def test_training_clips_the_gradient_norm(tiny_backbone, tokenizer, demo_raw, tmp_path, monkeypatch):
    """max_grad_norm 1.0 (the HF Trainer default the reference code runs with): one clip per
    optimizer step; null turns it off."""
    from mvprepro.data.prepare import prepare
    from mvprepro.data.tokenize import tokenize
    from mvprepro.train.train import train

    prepare(demo_raw["sst2"], tmp_path / "data", {"dataset": "sst2", "task": "sst2", "protocol": {"max_train_examples": 32}})
    tokenize(tmp_path / "data", tiny_backbone, tmp_path / "tok", {"task": "sst2", "max_length": 64, "prompt_reserve": 0})
    calls = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, *args, **kwargs):
        calls.append(max_norm)
        return original(parameters, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    training = {"lr": 1e-3, "batch_size": 16, "grad_accumulation": 1, "group_by_length": False, "max_epochs": 1,
                "weight_decay": 0.01, "patience": 1, "eval_every_steps": None, "scale_eval_with_templates": True,
                "max_grad_norm": 1.0, "precision": "fp32", "max_length": 64, "prompt_reserve": 0,
                "max_eval_examples": None, "degenerate_share": 0.95, "device": "cpu"}
    spec = {"dataset": "sst2", "task": "sst2", "num_labels": 2, "backbone": "tiny", "seed": 0, "training": training,
            "method": _spec("mlp_ft")}
    train(spec, tmp_path / "tok", tiny_backbone, tmp_path / "a", tmp_path / "a.json")
    assert calls == [1.0, 1.0]  # 32 examples / batch 16
    calls.clear()
    train({**spec, "training": {**training, "max_grad_norm": None}}, tmp_path / "tok", tiny_backbone, tmp_path / "b", tmp_path / "b.json")
    assert calls == []
    info = json.loads((tmp_path / "a" / "run_info.json").read_text())
    assert info["effective"]["eval_every_steps"] == 2  # once per epoch here


def test_precision_is_fp32_unless_asked(tiny_backbone):
    from mvprepro.runtime import autocast

    assert not autocast(torch.device("cpu"), "fp32")._enabled
    # bf16 autocast is enabled for the precision use_precision() resolved (on the CPU only
    # with bf16 instructions: tests/unit/test_precision.py)
    assert autocast(torch.device("cpu"), "bf16")._enabled
    with pytest.raises(ValueError, match="precision must be fp32 or bf16"):
        autocast(torch.device("cpu"), "fp16")
