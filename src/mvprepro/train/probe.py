"""The linear probe of LP-FT: logistic regression on frozen features, then its weights in the head.

As the reference code: features are tanh of the start token's final hidden state from the
pretrained encoder, extracted with dropout on (the encoder in training mode, seeded, no
gradients), for ``lpft`` and ``lpft_sparse`` alike; the inverse regularisation strength
``C`` is chosen by validation accuracy among 50 values ``logspace(-1, 2)``, fitting with
lbfgs, at most 500 iterations, each fit starting from the previous one (warm start).

The loss is the reference's multinomial one (``LogisticRegression(multi_class=
'multinomial')``). scikit-learn >= 1.8 has no ``multi_class``: it fits more than two
classes multinomially and two classes binomially. For two classes the multinomial fit with
its symmetric L2 penalty has ``w_0 = -w_1``, and its decision vector ``d = w_1 - w_0``
minimises ``C * sum(log-loss) + |d|^2 / 4``, i.e. it is the binomial fit at ``2 C``. So two
classes are fitted binomially at ``2 C`` (``sklearn_C``): the same probabilities as the
reference's multinomial fit at ``C`` (measured: to 3e-7 at a tight tolerance, and no
differing prediction over the 50-value grid at the default one; FIDELITY.md).

The fitted coefficients become the output layer of the method's head (``probe_layer()``:
``out_proj`` of the MLP head for ``lpft``, of the ProjectCLS head for ``lpft_sparse``),
after which the whole model is fine-tuned. For two classes the logits are ``[0, d.x + c]``,
whose softmax is the probe's predicted probabilities. The reference code writes
``[w.x + b, -(w.x + b)]`` instead, which predicts class 0 exactly where the probe predicts
class 1 (scikit-learn's binary ``coef_`` is class 1's): a bug we do not reproduce
(FIDELITY.md).
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


def sklearn_C(c: float, num_classes: int) -> float:
    """The ``C`` at which scikit-learn fits the reference's multinomial probe at ``c``.

    Two classes are fitted binomially (scikit-learn >= 1.8), whose optimum at ``2 c`` is the
    multinomial one at ``c``; more classes are fitted multinomially as they are.
    """
    return 2.0 * float(c) if num_classes == 2 else float(c)


@torch.inference_mode()
def features(model: Any, ids: Sequence[Sequence[int]], batch_size: int = 32, dropout: bool = True) -> np.ndarray:
    """The probe's features, ``model.probe_features``, with dropout on unless told."""
    was_training = model.training
    model.train(dropout)
    out = []
    for start in range(0, len(ids), batch_size):
        batch = {k: v.to(model.device) for k, v in model.collate(ids[start : start + batch_size]).items()}
        out.append(model.probe_features(batch["input_ids"], batch["attention_mask"]).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


def fit(model: Any, train: tuple[list, list], validation: tuple[list, list], grid: Sequence[float] = DEFAULT_C, seed: int = 0) -> tuple[dict[str, Any], Any]:
    """Fit the probe on the model's features; return what was chosen and the fitted classifier.

    ``probe_C`` is on the reference's (multinomial) scale; the classifier's own ``C`` is
    ``sklearn_C`` of it.
    """
    from sklearn.linear_model import LogisticRegression

    x_train, x_val = features(model, train[0]), features(model, validation[0])
    y_train, y_val = np.asarray(train[1]), np.asarray(validation[1])
    num_classes = len(np.unique(y_train))
    best: tuple[float, float, Any] | None = None
    clf = LogisticRegression(max_iter=MAX_ITER, random_state=seed, warm_start=True)
    for c in grid:
        clf.set_params(C=sklearn_C(c, num_classes)).fit(x_train, y_train)
        acc = float((clf.predict(x_val) == y_val).mean())
        if best is None or acc > best[0]:
            best = (acc, float(c), copy.deepcopy(clf))
    assert best is not None
    acc, c, clf = best
    return {"probe_C": c, "probe_val_accuracy": 100.0 * acc, "probe_classes": [int(k) for k in clf.classes_]}, clf


def init_head(model: Any, clf: Any) -> None:
    """Copy a fitted logistic regression into the head's output layer (``model.probe_layer()``)."""
    classes = [int(k) for k in clf.classes_]
    layer = model.probe_layer()
    if classes != list(range(layer.out_features)):
        raise ValueError(f"the probe saw classes {classes}, the head has {layer.out_features}; every class needs training examples")
    coef = torch.tensor(clf.coef_, dtype=torch.float32)
    bias = torch.tensor(clf.intercept_, dtype=torch.float32)
    if coef.shape[0] == 1:  # binary: coef_ is class 1's; logits [0, w.x + b] give softmax = sigmoid(w.x + b)
        coef = torch.cat([torch.zeros_like(coef), coef])
        bias = torch.cat([torch.zeros_like(bias), bias])
    with torch.no_grad():
        layer.weight.copy_(coef.to(layer.weight.device))
        layer.bias.copy_(bias.to(layer.bias.device))


def fit_and_init(model: Any, train: tuple[list, list], validation: tuple[list, list], grid: Sequence[float] = DEFAULT_C, seed: int = 0) -> dict[str, Any]:
    """Fit the probe, copy it into the head's output layer; return what was chosen."""
    info, clf = fit(model, train, validation, grid, seed)
    init_head(model, clf)
    return info
