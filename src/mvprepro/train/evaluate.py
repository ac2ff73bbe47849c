"""The evaluate stage: clean accuracy of a trained model on the test split
(``workflow/rules/train.smk``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..fileio import write_json_atomic
from ..runtime import device_for, precision_record, use_precision
from . import models
from .predict import is_degenerate, model_labels, predict, prediction_counts


def evaluate(spec: dict[str, Any], model: str | Path, tokenized: str | Path, out: str | Path) -> None:
    """Clean accuracy of a trained model on the whole test split (of its own dataset, or of
    an evaluate_on target tokenized for the same backbone)."""
    from datasets import load_from_disk

    device = device_for(spec["device"])
    precision = use_precision(device, spec["precision"])
    classifier = models.load(model).to(device)
    test = load_from_disk(str(Path(tokenized) / "data"))["test"]
    preds = predict(classifier, list(test["input_ids"]), int(spec["batch_size"]), desc="test", precision=precision)
    labels = torch.tensor(model_labels(spec, list(test["label"])))
    correct = int((preds == labels).sum())
    counts = prediction_counts(preds, classifier.num_labels)
    degenerate = is_degenerate(counts, float(spec["degenerate_share"]))
    if degenerate:
        print(f"degenerate model: predictions per class {counts} (one class >= {spec['degenerate_share']:.0%})", flush=True)
    write_json_atomic(
        out,
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
