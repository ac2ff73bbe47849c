"""The evaluate stage: clean accuracy of a trained model on the test split
(``workflow/rules/train.smk``), and the prediction loop training validates with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..fileio import write_json_atomic
from . import models


def device_for(preference: str = "auto") -> torch.device:
    """The torch device for a config's ``device`` setting (``auto``: CUDA when present)."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def cpu_bf16_support() -> tuple[bool, str]:
    """Whether this CPU runs bf16 matrix products natively, and the evidence.

    Autocast to bf16 works on any CPU, but without the ``avx512_bf16`` or ``amx_bf16``
    instructions oneDNN emulates it and it is slower than fp32, so ``precision: bf16``
    only takes effect where the processor has them. ``MVPREPRO_CPU_BF16=0`` (or ``1``)
    overrides the detection, e.g. to reproduce a fallback; the job records the outcome.
    """
    forced = os.environ.get("MVPREPRO_CPU_BF16", "").strip()
    if forced in ("0", "1"):
        return forced == "1", f"MVPREPRO_CPU_BF16={forced}"
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False, "no /proc/cpuinfo to read the processor's instructions from"
    found = sorted({f for f in flags if f in ("avx512_bf16", "amx_bf16")})
    if found:
        return True, "processor has " + ", ".join(found)
    return False, "processor lacks avx512_bf16 and amx_bf16"


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The forward passes' precision: fp32 (the paper) or bf16 autocast, on CUDA or CPU.

    ``precision`` is the *effective* setting :func:`use_precision` returned, so a CPU
    without bf16 instructions has already fallen back to fp32 here.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32 or bf16, not {precision!r}")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def use_precision(device: torch.device, precision: str) -> str:
    """Set up ``training.precision`` on ``device`` and return the precision that runs.

    ``bf16`` means bf16 autocast (and TF32 float32 products on CUDA). On the CPU it needs
    native bf16 instructions (:func:`cpu_bf16_support`); without them the job runs fp32
    and says so in its log, and callers record the returned value next to the request.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"training.precision must be fp32 or bf16, not {precision!r}")
    effective = precision
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = precision == "bf16"
        torch.backends.cudnn.allow_tf32 = precision == "bf16"
    elif device.type == "cpu" and precision == "bf16":
        supported, why = cpu_bf16_support()
        if supported:
            print(f"precision: bf16 autocast on the CPU ({why})", flush=True)
        else:
            effective = "fp32"
            print(f"precision: bf16 requested, running fp32 instead: {why}", flush=True)
    elif precision == "bf16":
        effective = "fp32"
        print(f"precision: bf16 requested, running fp32 on {device.type}", flush=True)
    return effective


def precision_record(requested: str, effective: str) -> dict[str, str]:
    """How a job's outputs record its precision: what the config asked and what ran."""
    return {"requested": requested, "effective": effective}


@torch.inference_mode()
def predict(
    model: models.MethodModel, ids: list[list[int]], batch_size: int = 32, desc: str = "predict", precision: str = "fp32"
) -> torch.Tensor:
    """Class predictions for pre-tokenized inputs, in order."""
    model.eval()
    device = model.device
    preds = []
    for start in tqdm(range(0, len(ids), batch_size), desc=desc, mininterval=10, leave=False):
        batch = {k: v.to(device) for k, v in model.collate(ids[start : start + batch_size]).items()}
        with autocast(device, precision):
            preds.append(model(**batch).argmax(-1).cpu())
    return torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)


def accuracy(model: models.MethodModel, ids: list[list[int]], labels: list[int], batch_size: int = 32, precision: str = "fp32") -> float:
    """Percent correct, from integer counts (no float32 rounding in the reported numbers)."""
    return validate(model, ids, labels, batch_size, precision)[0]


def validate(
    model: models.MethodModel, ids: list[list[int]], labels: list[int], batch_size: int = 32, precision: str = "fp32"
) -> tuple[float, list[int]]:
    """Percent correct and how many examples were predicted as each class."""
    preds = predict(model, ids, batch_size, precision=precision)
    correct = int((preds == torch.tensor(labels)).sum())
    return (100.0 * correct / len(labels) if labels else float("nan")), prediction_counts(preds, model.num_labels)


def prediction_counts(preds: torch.Tensor, num_labels: int) -> list[int]:
    """How many predictions fell on each class id (index = class id)."""
    return [int(n) for n in torch.bincount(preds.long(), minlength=num_labels)[:num_labels]]


def is_degenerate(counts: list[int], share: float) -> bool:
    """Whether one class takes at least ``share`` of the predictions: a collapsed model
    (a constant predictor), whose accuracy under attack means nothing, since an attack
    cannot flip a prediction that does not depend on the input. Too few predictions to
    tell (under two) are not flagged."""
    total = sum(counts)
    return total >= 2 and max(counts) >= share * total


def model_labels(spec: dict[str, Any], labels: list[int]) -> list[int]:
    """Gold labels as the model's class ids: an evaluate_on target's classes go through the
    spec's ``class_map`` (target class id -> class id of the dataset the model trained on)."""
    class_map = spec.get("class_map")
    return [int(class_map[y]) for y in labels] if class_map else [int(y) for y in labels]


def evaluate(spec: dict[str, Any], model_dir: str | Path, tokenized_dir: str | Path, output: str | Path) -> None:
    """Clean accuracy of a trained model on the whole test split (of its own dataset, or of
    an evaluate_on target tokenized for the same backbone)."""
    from datasets import load_from_disk

    device = device_for(spec["device"])
    precision = use_precision(device, spec["precision"])
    model = models.load(model_dir).to(device)
    test = load_from_disk(str(Path(tokenized_dir) / "data"))["test"]
    preds = predict(model, list(test["input_ids"]), int(spec["batch_size"]), desc="test", precision=precision)
    labels = torch.tensor(model_labels(spec, list(test["label"])))
    correct = int((preds == labels).sum())
    counts = prediction_counts(preds, model.num_labels)
    degenerate = is_degenerate(counts, float(spec["degenerate_share"]))
    if degenerate:
        print(f"degenerate model: predictions per class {counts} (one class >= {spec['degenerate_share']:.0%})", flush=True)
    write_json_atomic(
        output,
        {
            "accuracy": 100.0 * correct / len(labels),
            "correct": correct,
            "num_examples": len(labels),
            "predicted_counts": counts,
            "degenerate": degenerate,
            "degenerate_share": float(spec["degenerate_share"]),
            "precision": precision_record(spec["precision"], precision),
            "spec": spec,
        },
    )
