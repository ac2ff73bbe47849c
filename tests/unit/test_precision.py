"""``training.precision: bf16`` on the CPU: it runs in bf16 where the processor has bf16
instructions, falls back to fp32 visibly where it does not, and every job records both.

The processor is whatever runs the tests, so both branches are reached through
``MVPREPRO_CPU_BF16`` (the documented override of the detection); the detection itself is
checked against a fake ``/proc/cpuinfo``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mvprepro import fileio, runtime
from mvprepro.train import evaluate as ev
from mvprepro.train import models, train as train_stage


def _model(backbone) -> models.MethodModel:
    torch.manual_seed(0)
    spec = {"kind": "mlp_ft", "name": "mlp_ft", "num_labels": 2, "max_length": 64, "prompt_reserve": 0, "backbone": "tiny"}
    return models.build(backbone, spec)


def _dtypes_inside(model: models.MethodModel, run) -> set[torch.dtype]:
    """The dtypes the backbone's linear layers produce while ``run()`` executes."""
    seen: set[torch.dtype] = set()
    hooks = [m.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype)) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    try:
        run()
    finally:
        for h in hooks:
            h.remove()
    return seen


def test_detection_reads_the_processor_flags(monkeypatch, tmp_path):
    monkeypatch.delenv("MVPREPRO_CPU_BF16", raising=False)
    fake = tmp_path / "cpuinfo"
    real_read = Path.read_text

    def read(self, *a, **k):
        return real_read(fake, *a, **k) if str(self) == "/proc/cpuinfo" else real_read(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", read)
    fake.write_text("flags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile\n")
    assert runtime.cpu_bf16_support() == (True, "processor has avx512_bf16")
    fake.write_text("flags\t\t: fpu sse avx avx2\n")
    supported, why = runtime.cpu_bf16_support()
    assert not supported and "lacks avx512_bf16" in why


@pytest.mark.parametrize("forced, expected", [("1", torch.bfloat16), ("0", torch.float32)])
def test_prediction_runs_in_the_precision_that_is_recorded(tiny_backbone, monkeypatch, capsys, forced, expected):
    monkeypatch.setenv("MVPREPRO_CPU_BF16", forced)
    model = _model(tiny_backbone).eval()
    effective = runtime.use_precision(torch.device("cpu"), "bf16")
    assert effective == ("bf16" if forced == "1" else "fp32")
    log = capsys.readouterr().out
    assert ("running fp32 instead" in log) == (forced == "0")  # the fallback says so in the job log
    ids = [[0, 31, 32, 33, 2], [0, 40, 41, 2]]
    dtypes = _dtypes_inside(model, lambda: ev.predict(model, ids, precision=effective))
    assert dtypes == {expected}
    # the attack path (its wrapper, and the record in the summary) is tested with the
    # attack stage in test_pipeline_stages.py


def test_fp32_never_touches_bf16(tiny_backbone, monkeypatch):
    monkeypatch.setenv("MVPREPRO_CPU_BF16", "1")
    model = _model(tiny_backbone).eval()
    assert runtime.use_precision(torch.device("cpu"), "fp32") == "fp32"
    assert _dtypes_inside(model, lambda: ev.predict(model, [[0, 31, 2]], precision="fp32")) == {torch.float32}
    with pytest.raises(ValueError, match="training.precision"):
        runtime.use_precision(torch.device("cpu"), "fp16")


def _train_spec(precision: str) -> dict:
    training = {"lr": 2e-3, "batch_size": 16, "grad_accumulation": 1, "group_by_length": False, "max_epochs": 1,
                "weight_decay": 0.01, "patience": 2, "eval_every_steps": None, "scale_eval_with_templates": False,
                "max_grad_norm": 1.0, "precision": precision, "max_length": 64, "prompt_reserve": 0,
                "max_eval_examples": 16, "degenerate_share": 0.95, "device": "cpu"}
    return {"dataset": "sst2", "task": "sst2", "num_labels": 2, "backbone": "tiny", "seed": 0, "training": training,
            "method": {"name": "mlp_ft", "kind": "mlp_ft"}}


@pytest.mark.parametrize("forced", ["1", "0"])
def test_train_and_evaluate_record_requested_and_effective_precision(tiny_backbone, demo_raw, tmp_path, monkeypatch, forced):
    from mvprepro.data.prepare import prepare
    from mvprepro.data.tokenize import tokenize

    monkeypatch.setenv("MVPREPRO_CPU_BF16", forced)
    prepare(demo_raw["sst2"], tmp_path / "data", {"dataset": "sst2", "task": "sst2", "protocol": {}})
    tokenize(tmp_path / "data", tiny_backbone, tmp_path / "tok", {"task": "sst2", "max_length": 64, "prompt_reserve": 0})
    train_stage.train(_train_spec("bf16"), tmp_path / "tok", tiny_backbone, tmp_path / "model", tmp_path / "metrics.json")
    effective = "bf16" if forced == "1" else "fp32"
    assert fileio.read_json(tmp_path / "model" / "run_info.json")["effective"]["precision"] == effective
    ev.evaluate({"batch_size": 32, "device": "cpu", "precision": "bf16", "degenerate_share": 0.95}, tmp_path / "model", tmp_path / "tok", tmp_path / "clean.json")
    assert fileio.read_json(tmp_path / "clean.json")["precision"] == {"requested": "bf16", "effective": effective}


@pytest.mark.parametrize("forced", ["1", "0"])
def test_adaptation_runs_in_the_precision_that_is_recorded(tiny_bert, demo_raw, tmp_path, monkeypatch, forced):
    """The masked-LM adaptation (the longest single job of a real-data run) follows
    ``training.precision`` like every other training, and its report says what ran."""
    from transformers import BertForMaskedLM

    from mvprepro.data.prepare import prepare
    from mvprepro.data.tasks import PRESETS
    from mvprepro.train.adapt_backbone import adapt_backbone

    monkeypatch.setenv("MVPREPRO_CPU_BF16", forced)
    prepare(demo_raw["sst2"], tmp_path / "prepared", {"task": PRESETS["sst2"].to_spec(), "protocol": {"split_seed": 0, "validation_fraction": 0.05}})
    seen: set[torch.dtype] = set()
    real_forward = torch.nn.Linear.forward

    def forward(self, x):
        out = real_forward(self, x)
        if torch.is_grad_enabled():  # the training steps, not the before/after fill-mask reads
            seen.add(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", forward)
    settings = {"steps": 3, "lr": 1e-3, "batch_size": 8, "max_length": 32, "mask_prob": 0.15, "heldout_fraction": 0.1, "heldout_max": 8, "seed": 0}
    adapt_backbone(tiny_bert, [tmp_path / "prepared"], tmp_path / "adapted", {"name": "tiny", "adapt": settings, "device": "cpu", "precision": "bf16"})
    effective = "bf16" if forced == "1" else "fp32"
    assert seen == {torch.bfloat16 if forced == "1" else torch.float32}
    assert fileio.read_json(tmp_path / "adapted" / "adaptation.json")["precision"] == {"requested": "bf16", "effective": effective}
    assert BertForMaskedLM.from_pretrained(str(tmp_path / "adapted")).bert.embeddings.word_embeddings.weight.dtype == torch.float32  # saved as fp32


def test_training_and_adaptation_use_the_fused_adamw(tiny_backbone, monkeypatch):
    """Both trainings step with the fused AdamW kernel on the CPU (PyTorch's CPU default
    loops over the tensors in Python, 0.11 s of every real-data step against 0.017 s), and
    it is the same algorithm: one step from the same gradients lands within float rounding of
    the loop's."""
    from mvprepro.train import adapt_backbone as adapt
    from mvprepro.train.optimizer import adamw

    model = _model(tiny_backbone)
    optimizer = train_stage._optimizer(model, lr=1e-3, weight_decay=0.01)
    assert optimizer.defaults["fused"] is True
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.01, 0.0]  # the paper's no-decay group kept
    assert "adamw(" in Path(adapt.__file__).read_text()  # the adaptation steps with the same helper

    reference = _model(tiny_backbone)
    loop = torch.optim.AdamW(reference.parameters(), lr=1e-3, weight_decay=0.01, foreach=False)
    fused = adamw(model.parameters(), lr=1e-3, weight_decay=0.01)
    batch = model.collate([[0, 31, 32, 33, 2], [0, 40, 41, 2]])
    for net, opt in ((model, fused), (reference, loop)):
        torch.nn.functional.cross_entropy(net(**batch).float(), torch.tensor([0, 1])).backward()
        opt.step()
    moved = [(a - b).abs().max().item() for a, b in zip(model.parameters(), reference.parameters())]
    assert max(moved) < 1e-6
    start = _model(tiny_backbone)
    assert max((a - b).abs().max().item() for a, b in zip(model.parameters(), start.parameters())) > 1e-4  # it did step
