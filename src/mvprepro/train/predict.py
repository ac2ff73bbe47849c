"""Predictions of a trained model and what they say: accuracy, per-class counts, collapse.

Shared by the train stage (validation during training), the evaluate stage (clean accuracy
on the test split) and the attack stage (gold labels in the model's classes). It sits below
all three, so editing one stage's module never reruns the others' jobs.
"""

from __future__ import annotations

from typing import Any

import torch
from tqdm import tqdm

from ..runtime import autocast
from . import models


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
