"""Adversarial training in embedding space (PGD), as the paper's ``+adv`` methods use it.

For each batch: start from a random perturbation of the input embeddings inside the
epsilon ball, take ``steps`` projected gradient-ascent steps on the loss (dropout off, as in
the reference code), then compute the training loss on the perturbed embeddings, with
gradients flowing into the model and its embedding layer. Defaults follow the paper: L2
norm, epsilon 1.0, one step, step size 1.5 x epsilon / steps, random start.

Two settings say what the budget and the objective are:

* ``epsilon_unit``: ``absolute`` (the paper: an L2 norm over a sequence's input
  embeddings, chosen for RoBERTa-base) or ``embedding_norm``: ``epsilon`` times the
  backbone's mean token-embedding norm (:func:`embedding_norm`), so the same number means
  the same share of a token's embedding on every backbone. The absolute value it resolved
  to is recorded in ``metrics.json``.
* ``objective``: ``reference`` (the default: the objective behind the paper's +adv
  numbers) or ``adversarial``. The reference code computes each PGD step's loss with
  ``loss.backward()`` and clears only the perturbation's gradient, so the parameters keep
  the gradient of the loss at the random start (dropout off, embeddings detached) and the
  optimiser steps on that near-clean gradient plus the adversarial one. ``adversarial``
  steps on the adversarial loss alone.

Unlike the reference code, padding positions are never perturbed and norms are taken over
each sequence's real tokens only, so the perturbation of an example does not depend on how
long the other examples of its batch are.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _norms(delta: torch.Tensor) -> torch.Tensor:
    return delta.flatten(1).norm(dim=1).clamp(min=1e-12)[:, None, None]


def project(delta: torch.Tensor, norm: str, epsilon: float) -> torch.Tensor:
    """Project each row's perturbation onto the epsilon ball of the given norm."""
    if norm == "linf":
        return delta.clamp(-epsilon, epsilon)
    return delta * (epsilon / _norms(delta)).clamp(max=1.0)


def embedding_norm(model: nn.Module) -> float:
    """Mean L2 norm of the rows of the backbone's input-embedding matrix (its vocabulary):
    what ``epsilon_unit: embedding_norm`` multiplies. A property of the backbone alone, so
    the resolved budget does not depend on the dataset."""
    weight = model.hf.get_input_embeddings().weight.detach()
    return float(weight.float().norm(dim=1).mean())


def resolve(model: nn.Module, cfg: dict[str, Any]) -> dict[str, Any]:
    """The adversarial settings with ``epsilon`` as the absolute L2 (or L-inf) budget PGD
    uses; ``epsilon_setting`` keeps the configured number and ``embedding_norm`` the scale."""
    unit = cfg.get("epsilon_unit", "absolute")
    setting = float(cfg["epsilon"])
    if unit == "absolute":
        return {**cfg, "epsilon_setting": setting, "epsilon": setting}
    if unit != "embedding_norm":
        raise ValueError(f"adv.epsilon_unit must be absolute or embedding_norm, not {unit!r}")
    scale = embedding_norm(model)
    return {**cfg, "epsilon_setting": setting, "embedding_norm": round(scale, 6), "epsilon": setting * scale}


def pgd_delta(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    labels: torch.Tensor,
    cfg: dict[str, Any],
    leak_scale: float = 0.0,
) -> torch.Tensor:
    """The perturbation of the input embeddings found by PGD (detached).

    ``leak_scale`` > 0 reproduces the reference objective: each step's loss is also
    back-propagated into the parameters (times ``leak_scale``, the share of a micro-batch
    in an accumulated step), where the optimiser step will find it.
    """
    norm = cfg["norm"]
    if norm not in ("l2", "linf"):
        raise ValueError(f"adv.norm must be l2 or linf, not {norm!r}")
    epsilon = float(cfg["epsilon"])
    steps = int(cfg["steps"])
    alpha = cfg["step_size"] or 1.5 * epsilon / steps
    was_training = model.training
    model.eval()
    keep = batch["attention_mask"].unsqueeze(-1).to(torch.float32)
    with torch.no_grad():
        embeds = model.embed(batch["input_ids"])
    if cfg["random_start"]:
        if norm == "linf":
            delta = torch.empty_like(embeds).uniform_(-epsilon, epsilon) * keep
        else:
            delta = torch.randn_like(embeds) * keep
            delta = delta * epsilon / _norms(delta)
    else:
        delta = torch.zeros_like(embeds)
    others = {k: v for k, v in batch.items() if k != "input_ids"}
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = nn.functional.cross_entropy(model(inputs_embeds=embeds + delta, **others).float(), labels)
        if leak_scale:
            (loss * leak_scale).backward()
            grad = delta.grad.detach() / leak_scale
        else:
            (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            grad = grad * keep
            step = grad.sign() if norm == "linf" else grad / _norms(grad)
            delta = project((delta + alpha * step) * keep, norm, epsilon)
    model.train(was_training)
    return delta.detach()


def adversarial_loss(
    model: nn.Module, batch: dict[str, torch.Tensor], labels: torch.Tensor, cfg: dict[str, Any], share: float = 1.0
) -> torch.Tensor:
    """Cross-entropy on the PGD-perturbed inputs (the embedding layer still gets gradients).

    With ``objective: reference`` the PGD steps have already added their own losses'
    gradients (times ``share``, the micro-batch's weight in the step) to the parameters.
    """
    objective = cfg.get("objective", "adversarial")
    if objective not in ("reference", "adversarial"):
        raise ValueError(f"adv.objective must be reference or adversarial, not {objective!r}")
    delta = pgd_delta(model, batch, labels, cfg, leak_scale=share if objective == "reference" else 0.0)
    others = {k: v for k, v in batch.items() if k != "input_ids"}
    logits = model(inputs_embeds=model.embed(batch["input_ids"]) + delta, **others)
    return nn.functional.cross_entropy(logits.float(), labels)


def perturbed_accuracy(
    model: nn.Module,
    ids: list[list[int]],
    labels: list[int],
    cfg: dict[str, Any],
    batch_size: int = 32,
    precision: str = "fp32",
    seed: int = 0,
) -> float:
    """Accuracy (percent) on PGD-perturbed inputs, dropout off.

    This is the validation accuracy the reference code's adversarial training selects its
    checkpoint on: its Trainer evaluates with the PGD augmentation still switched on. The
    random starts come from their own seeded generator state, so validating does not shift
    the training's random stream and the same run gives the same number.
    """
    from ..runtime import autocast

    was_training = model.training
    device = model.device
    correct = 0
    forks = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=forks):
        torch.manual_seed(seed)
        for start in range(0, len(ids), batch_size):
            batch = {k: v.to(device) for k, v in model.collate(ids[start : start + batch_size]).items()}
            y = torch.tensor(labels[start : start + batch_size], dtype=torch.long, device=device)
            with autocast(device, precision):
                delta = pgd_delta(model, batch, y, cfg)
                model.eval()
                with torch.no_grad():
                    others = {k: v for k, v in batch.items() if k != "input_ids"}
                    logits = model(inputs_embeds=model.embed(batch["input_ids"]) + delta, **others)
            correct += int((logits.argmax(-1) == y).sum())
    model.train(was_training)
    return 100.0 * correct / len(labels) if labels else float("nan")
