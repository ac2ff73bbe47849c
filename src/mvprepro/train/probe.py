"""The linear probe of LP-FT: logistic regression on frozen features, then its weights in the head.

As the reference code: features are the projection head's input features (tanh of the
start token's final hidden state) from the pretrained encoder, extracted with dropout on
(the encoder in training mode, seeded, no gradients); the inverse regularisation strength
``C`` is chosen by validation accuracy among 50 values ``logspace(-1, 2)``, fitting with
lbfgs, at most 500 iterations, each fit starting from the previous one (warm start).

The fitted coefficients become the head's ``out_proj``, after which the whole model is
fine-tuned. For two classes the logits are ``[0, w.x + b]``, whose softmax is the probe's
sigmoid. The reference code writes ``[w.x + b, -(w.x + b)]`` instead, which predicts class 0
exactly where the probe predicts class 1 (scikit-learn's binary ``coef_`` is class 1's): a
bug we do not reproduce (FIDELITY.md).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

# The reference code's grid: 50 values from 0.1 to 100, log-spaced.
DEFAULT_C = tuple(float(c) for c in np.logspace(-1, 2, 50))
MAX_ITER = 500


@torch.inference_mode()
def features(model: Any, ids: Sequence[Sequence[int]], batch_size: int = 32, dropout: bool = True) -> np.ndarray:
    was_training = model.training
    model.train(dropout)
    out = []
    for start in range(0, len(ids), batch_size):
        batch = {k: v.to(model.device) for k, v in model.collate(ids[start : start + batch_size]).items()}
        out.append(model.head.features(model.pooled(batch["input_ids"], batch["attention_mask"])).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


def fit(model: Any, train: tuple[list, list], validation: tuple[list, list], grid: Sequence[float] = DEFAULT_C, seed: int = 0) -> tuple[dict[str, Any], Any]:
    """Fit the probe on the model's features; return what was chosen and the fitted classifier."""
    from sklearn.linear_model import LogisticRegression

    x_train, x_val = features(model, train[0]), features(model, validation[0])
    y_train, y_val = np.asarray(train[1]), np.asarray(validation[1])
    best: tuple[float, float, Any] | None = None
    clf = LogisticRegression(max_iter=MAX_ITER, random_state=seed, warm_start=True)
    for c in grid:
        clf.set_params(C=float(c)).fit(x_train, y_train)
        acc = float((clf.predict(x_val) == y_val).mean())
        if best is None or acc > best[0]:
            best = (acc, float(c), copy.deepcopy(clf))
    assert best is not None
    acc, c, clf = best
    return {"probe_C": c, "probe_val_accuracy": 100.0 * acc, "probe_classes": [int(k) for k in clf.classes_]}, clf


def init_head(model: Any, clf: Any) -> None:
    """Copy a fitted logistic regression into ``model.head.out_proj``."""
    coef = torch.tensor(clf.coef_, dtype=torch.float32)
    bias = torch.tensor(clf.intercept_, dtype=torch.float32)
    if coef.shape[0] == 1:  # binary: logits [0, w.x + b] give softmax = sigmoid(w.x + b)
        coef = torch.cat([torch.zeros_like(coef), coef])
        bias = torch.cat([torch.zeros_like(bias), bias])
    out_proj = model.head.out_proj
    with torch.no_grad():
        out_proj.weight.copy_(coef.to(out_proj.weight.device))
        out_proj.bias.copy_(bias.to(out_proj.bias.device))


def fit_and_init(model: Any, train: tuple[list, list], validation: tuple[list, list], grid: Sequence[float] = DEFAULT_C, seed: int = 0) -> dict[str, Any]:
    """Fit the probe, copy it into ``model.head.out_proj``; return what was chosen."""
    info, clf = fit(model, train, validation, grid, seed)
    init_head(model, clf)
    return info
