"""Adversarial training that learns, and collapse that is never silent.

PGD's budget in the backbone's own units, the reference code's objective, the clean
warm-up, the degenerate (constant-predictor) flag, checkpoint selection that never prefers
a collapsed checkpoint, and the epsilon sweep's plan.
"""

from __future__ import annotations

import copy

import pytest
import torch
import yaml
from snakemake.utils import validate

from mvprepro import fileio
from mvprepro.plan import ConfigError, Plan, check
from mvprepro.train import adversarial, models, train as train_stage
from mvprepro.train.evaluate import evaluate
from mvprepro.train.predict import is_degenerate, prediction_counts
from helpers import REPO

TEXTS = ["the film was good .", "critics hated this movie and the plot is dreadful", "a lovely story"]


def _adv(**settings) -> dict:
    """An ``adv:`` entry as the schema fills it."""
    base = {"norm": "l2", "epsilon": 1.0, "epsilon_unit": "absolute", "objective": "reference", "warmup_epochs": 0,
            "steps": 1, "step_size": None, "random_start": True, "select_on": "perturbed"}
    return {**base, **settings}


def _model(backbone, kind: str = "mlp_ft") -> models.MethodModel:
    torch.manual_seed(0)
    spec = {"kind": kind, "name": kind, "num_labels": 2, "max_length": 64, "prompt_reserve": 16, "backbone": "tiny"}
    if kind == "mvp":
        spec.update(verbalizer=[["negative"], ["positive"]], templates=["[SEP] The statement is [MASK]"],
                    pool_label_words="max", pool_templates="mean")
    return models.build(backbone, spec)


# ---------------------------------------------------------------- the budget and the objective


def test_embedding_norm_unit_scales_epsilon_by_the_mean_token_norm(tiny_backbone):
    model = _model(tiny_backbone)
    norm = model.hf.get_input_embeddings().weight.detach().norm(dim=1).mean().item()
    resolved = adversarial.resolve(model, _adv(epsilon=0.5, epsilon_unit="embedding_norm"))
    assert resolved["epsilon"] == pytest.approx(0.5 * norm, rel=1e-5)
    assert resolved["epsilon_setting"] == 0.5 and resolved["embedding_norm"] == pytest.approx(norm, rel=1e-4)
    absolute = adversarial.resolve(model, _adv(epsilon=0.5))
    assert absolute["epsilon"] == 0.5 and "embedding_norm" not in absolute
    with pytest.raises(ValueError, match="epsilon_unit"):
        adversarial.resolve(model, _adv(epsilon_unit="percent"))


def _grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_reference_objective_adds_the_random_start_gradient(tiny_backbone, tokenizer):
    """The reference code's PGD leaves the random-start loss's parameter gradient in place
    (dropout off, embeddings detached); ``adversarial`` does not. The difference between
    the two objectives' gradients is exactly that gradient."""
    batch = None
    out = {}
    for objective in ("reference", "adversarial"):
        model = _model(tiny_backbone)
        model.train()
        batch = model.collate(tokenizer(TEXTS)["input_ids"])
        labels = torch.tensor([1, 0, 1])
        torch.manual_seed(7)
        adversarial.adversarial_loss(model, batch, labels, _adv(objective=objective)).backward()
        out[objective] = _grads(model)
    # The random start, drawn as pgd_delta draws it, and its loss with dropout off.
    model = _model(tiny_backbone)
    model.eval()
    torch.manual_seed(7)
    keep = batch["attention_mask"].unsqueeze(-1).float()
    with torch.no_grad():
        embeds = model.embed(batch["input_ids"])
    delta = torch.randn_like(embeds) * keep
    delta = delta / delta.flatten(1).norm(dim=1)[:, None, None]
    loss = torch.nn.functional.cross_entropy(model(inputs_embeds=embeds + delta, attention_mask=batch["attention_mask"]), torch.tensor([1, 0, 1]))
    loss.backward()
    leak = _grads(model)
    word_embeddings = "hf.roberta.embeddings.word_embeddings.weight"
    differs = 0
    for name, grad in out["reference"].items():
        expected = out["adversarial"][name] + leak.get(name, torch.zeros_like(grad))
        torch.testing.assert_close(grad, expected, atol=1e-5, rtol=1e-4)
        differs += not torch.allclose(grad, out["adversarial"][name])
    assert differs > 10  # the leak reaches the encoder and the head
    assert word_embeddings not in leak  # embeddings detached, as in the reference


# ---------------------------------------------------------------- degenerate models


def test_degenerate_means_one_class_for_nearly_every_prediction():
    assert prediction_counts(torch.tensor([0, 0, 1, 0]), 3) == [3, 1, 0]
    assert is_degenerate([20, 0], 0.95) and is_degenerate([19, 1], 0.95)
    assert not is_degenerate([18, 2], 0.95) and not is_degenerate([10, 10], 0.95)
    assert not is_degenerate([1, 0], 0.95)  # too few predictions to tell


def test_a_constant_model_is_flagged_in_clean_json(tiny_backbone, demo_raw, tmp_path):
    from mvprepro.data.prepare import prepare
    from mvprepro.data.tokenize import tokenize

    prepare(demo_raw["sst2"], tmp_path / "data", {"dataset": "sst2", "task": "sst2", "protocol": {}})
    tokenize(tmp_path / "data", tiny_backbone, tmp_path / "tok", {"task": "sst2", "max_length": 64, "prompt_reserve": 0})
    model = _model(tiny_backbone)
    with torch.no_grad():  # a constant predictor: class 1 whatever the input
        model.hf.classifier.out_proj.bias.copy_(torch.tensor([-50.0, 50.0]))
    model.save(tmp_path / "model")
    spec = {"batch_size": 32, "device": "cpu", "precision": "fp32", "degenerate_share": 0.95}
    evaluate(spec, tmp_path / "model", tmp_path / "tok", tmp_path / "clean.json")
    clean = fileio.read_json(tmp_path / "clean.json")
    assert clean["degenerate"] is True and clean["predicted_counts"][0] == 0
    assert clean["predicted_counts"][1] == clean["num_examples"]


def test_selection_never_prefers_a_degenerate_checkpoint():
    counters = {"best_acc": -1.0, "best_degenerate": True}
    collapsed = {"degenerate": True, "val_accuracy": 50.0}
    learned = {"degenerate": False, "val_accuracy": 3.0}
    assert train_stage.better(collapsed, counters)  # anything beats nothing
    counters.update(best_acc=50.0, best_degenerate=True)
    assert train_stage.better(learned, counters)  # lower accuracy, but it reads its input
    counters.update(best_acc=3.0, best_degenerate=False)
    assert not train_stage.better({"degenerate": True, "val_accuracy": 99.0}, counters)
    assert train_stage.better({"degenerate": False, "val_accuracy": 4.0}, counters)
    assert not train_stage.better({"degenerate": False, "val_accuracy": 3.0}, counters)  # ties keep the first


# ---------------------------------------------------------------- training end to end


TRAINING = {"lr": 2e-3, "batch_size": 16, "grad_accumulation": 1, "group_by_length": False, "max_epochs": 4,
            "weight_decay": 0.01, "patience": 2, "eval_every_steps": None, "scale_eval_with_templates": False,
            "max_grad_norm": 1.0, "precision": "fp32", "max_length": 64, "prompt_reserve": 16,
            "max_eval_examples": None, "degenerate_share": 0.95, "device": "cpu"}


@pytest.fixture(scope="module")
def sst2_tokenized(tiny_backbone, demo_raw, tmp_path_factory):
    from mvprepro.data.prepare import prepare
    from mvprepro.data.tokenize import tokenize

    root = tmp_path_factory.mktemp("sst2")
    prepare(demo_raw["sst2"], root / "data", {"dataset": "sst2", "task": "sst2", "protocol": {}})
    tokenize(root / "data", tiny_backbone, root / "tok", {"task": "sst2", "max_length": 64, "prompt_reserve": 16})
    return root / "tok"


def _train(tiny_backbone, tok, out, kind: str, adv: dict) -> tuple[dict, dict]:
    method = {"name": f"{kind}_adv", "kind": kind, "adv": adv}
    if kind == "mvp":
        method.update(verbalizer=[["negative"], ["positive"]], pool_label_words="max", pool_templates="mean",
                      templates=["Sentiment of the statement is [MASK] .", "[SEP] The statement is [MASK]"])
    spec = {"dataset": "sst2", "task": "sst2", "num_labels": 2, "backbone": "tiny", "seed": 0, "training": TRAINING, "method": method}
    train_stage.train(spec, tok, tiny_backbone, out / "model", out / "metrics.json")
    evaluate({"batch_size": 32, "device": "cpu", "precision": "fp32", "degenerate_share": 0.95}, out / "model", tok, out / "clean.json")
    return fileio.read_json(out / "metrics.json"), fileio.read_json(out / "clean.json")


@pytest.mark.parametrize("kind", ["mlp_ft", "mvp"])
def test_adversarial_training_with_warmup_learns_on_demo_data(tiny_backbone, sst2_tokenized, tmp_path, kind):
    """The demo's +adv settings (config/demo.yaml): half a token-embedding norm, two clean
    epochs first. The model must learn, not collapse, and resist PGD on validation."""
    metrics, clean = _train(tiny_backbone, sst2_tokenized, tmp_path, kind, _adv(epsilon=0.5, epsilon_unit="embedding_norm", warmup_epochs=2))
    assert [r.get("warmup", False) for r in metrics["history"]][:2] == [True, True]
    # Warm-up checkpoints are never selected, so they are validated clean only (no PGD).
    for record in metrics["history"][:2]:
        assert record["val_accuracy"] is None and "val_accuracy_perturbed" not in record
        assert record["val_accuracy_clean"] > 0
    assert metrics["best_step"] > metrics["history"][1]["step"]  # never a warm-up checkpoint
    assert metrics["adv"]["epsilon"] == pytest.approx(0.5 * metrics["adv"]["embedding_norm"], rel=1e-5)
    assert clean["accuracy"] >= 85.0 and not clean["degenerate"] and not metrics["degenerate"]
    best = next(r for r in metrics["history"] if r["step"] == metrics["best_step"])
    assert best["val_accuracy_perturbed"] >= 70.0


def test_collapse_from_a_fresh_head_is_flagged(tiny_backbone, sst2_tokenized, tmp_path):
    """Without the warm-up, a whole token-embedding norm of PGD collapses the tiny model to
    a constant predictor (as the paper's budget does on MiniLM): it must say so."""
    metrics, clean = _train(tiny_backbone, sst2_tokenized, tmp_path, "mlp_ft", _adv(epsilon=1.0, epsilon_unit="embedding_norm"))
    assert metrics["degenerate"] is True and clean["degenerate"] is True
    assert all(r["degenerate"] for r in metrics["history"])


# ---------------------------------------------------------------- config and the sweep's plan


@pytest.fixture
def demo_config(monkeypatch) -> dict:
    """config/demo.yaml as the workflow sees it (schema defaults filled)."""
    monkeypatch.chdir(REPO)  # prompt paths are relative to the repository root
    data = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    validate(data, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return data


def _config(demo_config) -> dict:
    config = copy.deepcopy(demo_config)
    config["adv_sweep"] = {"methods": ["mlp_ft_adv", "mvp_adv"], "epsilons": [0.25, 0.5, 1.0], "seeds": [0], "attacks": ["textfooler"]}
    return config


def test_sweep_reuses_the_configured_budget_and_adds_the_clean_counterpart(demo_config):
    plan = Plan(_config(demo_config))
    assert plan.sweep_variants == {
        "mlp_ft_adv-eps0.25": ("mlp_ft_adv", 0.25),
        "mlp_ft_adv-eps1": ("mlp_ft_adv", 1.0),
        "mvp_adv-eps0.25": ("mvp_adv", 0.25),
        "mvp_adv-eps1": ("mvp_adv", 1.0),
    }
    points = [p for p in plan.sweep_points() if p["dataset"] == "sst2"]
    assert [(p["method"], p["epsilon"]) for p in points] == [
        ("mlp_ft", 0.0), ("mlp_ft_adv-eps0.25", 0.25), ("mlp_ft_adv", 0.5), ("mlp_ft_adv-eps1", 1.0),
        ("mvp", 0.0), ("mvp_adv-eps0.25", 0.25), ("mvp_adv", 0.5), ("mvp_adv-eps1", 1.0),
    ]
    # A variant differs from its method by epsilon alone.
    variant = plan.train("sst2", "tiny-roberta", "mvp_adv-eps1", 0)["method"]
    base = plan.train("sst2", "tiny-roberta", "mvp_adv", 0)["method"]
    assert {k: v for k, v in variant.items() if k not in ("name", "adv")} == {k: v for k, v in base.items() if k not in ("name", "adv")}
    assert variant["adv"] == {**base["adv"], "epsilon": 1.0}
    # Only the variants are new runs, attacked only by the sweep's attacks.
    assert len(plan.sweep_runs()) == 4 * 3  # 4 variants x 3 datasets x seed 0
    attacked = {j["attack"] for j in plan.benchmark_jobs() if j["rule"] == "attack" and j["method"].endswith(("-eps1", "-eps0.25"))}
    assert attacked == {"textfooler"}


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: c["adv_sweep"].update(methods=["mlp_ft"]), "adv_sweep.methods: 'mlp_ft' has no adv section"),
        (lambda c: c["adv_sweep"].update(methods=["nope"]), "adv_sweep.methods: 'nope' is not defined in methods"),
        (lambda c: c["adv_sweep"].update(attacks=["pwws"]), "adv_sweep.attacks: 'pwws' is not one of"),
        (lambda c: c["adv_sweep"].update(epsilons=[0.1, 0.10]), "an epsilon is listed twice"),
        (lambda c: c["methods"].update({"mvp_adv-eps1": {"kind": "mvp"}}), "has the name of a configured method"),
        (lambda c: c["methods"]["mvp_adv"]["adv"].update(warmup_epochs=6), "methods.mvp_adv.adv.warmup_epochs (6) leaves no adversarial epoch"),
    ],
)
def test_bad_sweep_and_warmup_settings_name_the_key(demo_config, edit, message):
    config = _config(demo_config)
    edit(config)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(config)
