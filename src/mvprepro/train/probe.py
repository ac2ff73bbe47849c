"""The linear probe of LP-FT: logistic regression on frozen features, then its weights in the head.

Features are the projection head's input features (tanh of the start token's final hidden
state) from the pretrained encoder, frozen and in eval mode. The inverse regularisation
strength ``C`` is chosen by validation accuracy from a grid; the fitted coefficients become
the head's ``out_proj`` (for two classes, logits ``[0, w.x + b]``, whose softmax is the
probe's sigmoid), after which the whole model is fine-tuned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

DEFAULT_C = (0.01, 0.1, 1.0, 10.0, 100.0)


@torch.inference_mode()
def features(model: Any, ids: Sequence[Sequence[int]], batch_size: int = 32) -> np.ndarray:
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(ids), batch_size):
        batch = {k: v.to(model.device) for k, v in model.collate(ids[start : start + batch_size]).items()}
        out.append(model.head.features(model.pooled(batch["input_ids"], batch["attention_mask"])).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


def fit_and_init(model: Any, train: tuple[list, list], validation: tuple[list, list], grid: Sequence[float] = DEFAULT_C, seed: int = 0) -> dict[str, Any]:
    """Fit the probe, copy it into ``model.head.out_proj``; return what was chosen."""
    from sklearn.linear_model import LogisticRegression

    x_train, x_val = features(model, train[0]), features(model, validation[0])
    y_train, y_val = np.asarray(train[1]), np.asarray(validation[1])
    best: tuple[float, float, Any] | None = None
    for c in grid:
        clf = LogisticRegression(C=float(c), max_iter=2000, random_state=seed).fit(x_train, y_train)
        acc = float((clf.predict(x_val) == y_val).mean())
        if best is None or acc > best[0]:
            best = (acc, float(c), clf)
    assert best is not None
    acc, c, clf = best
    coef = torch.tensor(clf.coef_, dtype=torch.float32)
    bias = torch.tensor(clf.intercept_, dtype=torch.float32)
    if coef.shape[0] == 1:  # binary: logits [0, w.x + b] give softmax = sigmoid(w.x + b)
        coef = torch.cat([torch.zeros_like(coef), coef])
        bias = torch.cat([torch.zeros_like(bias), bias])
    out_proj = model.head.out_proj
    with torch.no_grad():
        out_proj.weight.copy_(coef.to(out_proj.weight.device))
        out_proj.bias.copy_(bias.to(out_proj.bias.device))
    return {"probe_C": c, "probe_val_accuracy": 100.0 * acc, "probe_classes": [int(k) for k in clf.classes_]}
