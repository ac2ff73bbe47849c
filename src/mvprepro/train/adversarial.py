"""Adversarial training in embedding space (PGD), as the paper's ``+adv`` methods use it.

For each batch: start from a random perturbation of the input embeddings inside the
epsilon ball, take ``steps`` projected gradient-ascent steps on the loss (dropout off, as in
the reference code), then compute the training loss on the perturbed embeddings, with
gradients flowing into the model and its embedding layer. Defaults follow the paper: L2
norm, epsilon 1.0, one step, step size 1.5 x epsilon / steps, random start.

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


def pgd_delta(
    model: nn.Module, batch: dict[str, torch.Tensor], labels: torch.Tensor, cfg: dict[str, Any]
) -> torch.Tensor:
    """The perturbation of the input embeddings found by PGD (detached)."""
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
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            grad = grad * keep
            step = grad.sign() if norm == "linf" else grad / _norms(grad)
            delta = project((delta + alpha * step) * keep, norm, epsilon)
    model.train(was_training)
    return delta.detach()


def adversarial_loss(model: nn.Module, batch: dict[str, torch.Tensor], labels: torch.Tensor, cfg: dict[str, Any]) -> torch.Tensor:
    """Cross-entropy on the PGD-perturbed inputs (the embedding layer still gets gradients)."""
    delta = pgd_delta(model, batch, labels, cfg)
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
    from .evaluate import autocast

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
