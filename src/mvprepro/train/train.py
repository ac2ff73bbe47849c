"""Fine-tuning one method on one dataset with one seed, and its clean evaluation.

A plain PyTorch loop, with the paper's recipe: AdamW (lr 1e-5, weight decay 0.01 except on
biases and LayerNorm weights), batch 8, linear decay over ``max_epochs``, validation
accuracy every ``eval_every_steps`` steps (or every epoch), early stopping after
``patience`` evaluations without improvement, and the best validation checkpoint kept.
Everything random is seeded from ``seed``, so the same seed gives the same numbers on CPU.
A checkpoint is written after every epoch and a rerun of a killed job resumes from it
(:mod:`mvprepro.train.checkpoint`).
"""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..data.subsets import subset_indices
from ..fileio import atomic_directory, read_json, run_info, write_json_atomic
from ..runtime import autocast, device_for, seed_everything, use_precision
from . import adversarial, checkpoint, models, probe
from .optimizer import adamw
from .predict import is_degenerate, validate


def epoch_batches(lengths: list[int], size: int, rng: random.Random, group_by_length: bool = False) -> list[list[int]]:
    """One epoch's batches of example indices, shuffled by ``rng``.

    With ``group_by_length``, examples are sorted by length within chunks of 50 batches
    before batching (and the batches shuffled again), so each batch pads to a similar
    length: less padding, the same examples per epoch.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if group_by_length:
        chunk = size * 50
        order = [i for s in range(0, len(order), chunk) for i in sorted(order[s : s + chunk], key=lambda j: -lengths[j])]
    batches = [order[s : s + size] for s in range(0, len(order), size)]
    if group_by_length:
        rng.shuffle(batches)
    return batches


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return adamw(groups, lr=lr, weight_decay=weight_decay)


def _check_output(model: models.MethodModel, ids: list[list[int]], device: Any) -> None:
    """One forward pass on two training examples, in eval mode (no randomness used), so a
    kind whose ``forward`` returns the wrong shape fails here with its config key, not as a
    shape error deep in the loss."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        batch = {k: v.to(device) for k, v in model.collate(ids).items()}
        models.check_output(model, model(**batch), len(ids))
    model.train(was_training)


def evaluation_interval(cfg: dict[str, Any], method: dict[str, Any], steps_per_epoch: int) -> int:
    """Optimizer steps between validations: ``eval_every_steps`` (or one epoch when null),
    times the number of templates for MVP when ``scale_eval_with_templates``, as the
    reference code does (each MVP example is T sequences)."""
    if not cfg["eval_every_steps"]:
        return steps_per_epoch
    every = int(cfg["eval_every_steps"])
    if cfg["scale_eval_with_templates"] and method["kind"] == "mvp":
        every *= max(len(method["templates"]), 1)
    return every


def train(
    spec: dict[str, Any],
    tokenized: str | Path,
    backbone: str | Path,
    model_out: str | Path,
    metrics_out: str | Path,
    prompt_check: str | Path | None = None,
) -> None:
    """Fine-tune ``spec["method"]`` from the backbone in ``backbone`` on the tokenized splits.

    ``spec`` holds settings only; every file read or written is an argument, so the rule's
    ``input:``/``output:`` are the whole list of files the job touches. A prompt method gets
    the output of its ``check_prompts`` job, which must describe the same method.
    """
    from datasets import load_from_disk

    if prompt_check is not None and read_json(prompt_check)["spec"]["method"] != spec["method"]:
        raise ValueError(f"{prompt_check} checked other prompts than this job's method; rerun check_prompts")

    cfg = spec["training"]
    seed = int(spec["seed"])
    seed_everything(seed)
    device = device_for(cfg["device"])
    precision = use_precision(device, cfg["precision"])

    data = load_from_disk(str(Path(tokenized) / "data"))
    train_ids, train_y = list(data["train"]["input_ids"]), list(data["train"]["label"])
    if spec.get("train_size") is not None:  # the sample-efficiency dimension (train_sizes)
        keep = subset_indices(train_y, spec["train_size"], int(spec["subset_seed"]), spec["dataset"])
        train_ids, train_y = [train_ids[i] for i in keep], [train_y[i] for i in keep]
    val_ids, val_y = list(data["validation"]["input_ids"]), list(data["validation"]["label"])
    if cfg["max_eval_examples"]:
        val_ids, val_y = val_ids[: cfg["max_eval_examples"]], val_y[: cfg["max_eval_examples"]]

    method_spec = {
        **spec["method"],
        "num_labels": spec["num_labels"],
        "max_length": cfg["max_length"],
        "prompt_reserve": cfg["prompt_reserve"],
        "backbone": spec["backbone"],
    }
    model = models.build(backbone, method_spec).to(device)
    _check_output(model, train_ids[:2], device)
    optimizer = _optimizer(model, float(cfg["lr"]), float(cfg["weight_decay"]))
    batch_size = int(cfg["batch_size"])
    accumulate = int(cfg["grad_accumulation"])
    group_by_length = bool(cfg["group_by_length"])
    lengths = [len(x) for x in train_ids]
    steps_per_epoch = math.ceil(math.ceil(len(train_ids) / batch_size) / accumulate)
    total_steps = steps_per_epoch * int(cfg["max_epochs"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1.0 - s / max(total_steps, 1)))
    eval_every = evaluation_interval(cfg, method_spec, steps_per_epoch)
    patience = int(cfg["patience"])
    order_rng = random.Random(seed)

    # Resume from the last finished epoch of a killed run of the same spec, if any.
    ckpt_path = checkpoint.checkpoint_dir(model_out)
    counters: dict[str, Any] = {"epoch": 0, "step": 0, "best_acc": -1.0, "best_step": 0, "best_degenerate": True, "bad_evals": 0, "stop": False, "history": []}
    best_state = None
    restored = checkpoint.load(ckpt_path, spec, model, optimizer, scheduler, order_rng)
    if restored is not None:
        counters, best_state = restored
    elif hasattr(model, "probe_layer"):  # LP-FT's kinds, or a user's kind that asks for a probe
        grid = method_spec.get("probe_c") or probe.DEFAULT_C
        counters["probe"] = probe.fit_and_init(model, (train_ids, train_y), (val_ids, val_y), grid, seed)
        print(f"linear probe: {counters['probe']}", flush=True)
    adv = adversarial.resolve(model, method_spec["adv"]) if method_spec.get("adv") else None
    if adv:
        print(f"adversarial training: {adv}", flush=True)
    select_on = adv["select_on"] if adv else "clean"
    # Clean epochs before adversarial training (adv.warmup_epochs); their checkpoints are
    # not candidates: a +adv model must have been trained adversarially.
    warmup = int(adv.get("warmup_epochs", 0)) if adv else 0
    degenerate_share = float(cfg["degenerate_share"])

    history: list[dict[str, Any]] = counters["history"]
    step, stop = counters["step"], counters["stop"]
    for epoch in range(counters["epoch"] + 1, int(cfg["max_epochs"]) + 1):
        if stop:
            break
        batches = epoch_batches(lengths, batch_size, order_rng, group_by_length)
        model.train()
        progress = tqdm(range(0, len(batches), accumulate), desc=f"epoch {epoch}", mininterval=10)
        for first in progress:
            group = batches[first : first + accumulate]
            for idx in group:  # gradient accumulation over micro-batches of batch_size
                batch = {k: v.to(device) for k, v in model.collate([train_ids[i] for i in idx]).items()}
                labels = torch.tensor([train_y[i] for i in idx], dtype=torch.long, device=device)
                with autocast(device, precision):
                    if adv and epoch > warmup:
                        loss = adversarial.adversarial_loss(model, batch, labels, adv, share=1.0 / len(group))
                    else:
                        loss = torch.nn.functional.cross_entropy(model(**batch).float(), labels)
                (loss / len(group)).backward()
            if cfg["max_grad_norm"]:
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(cfg["max_grad_norm"]))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            progress.set_postfix(loss=f"{loss.item():.4f}")
            # As the HF Trainer: evaluate every eval_every steps; at the very end only if no
            # evaluation happened at all (so a short run still has a validated model).
            selectable = [r for r in history if not r.get("warmup")]
            if step % eval_every == 0 or (step == total_steps and not selectable):
                record = {"step": step, "epoch": epoch, "loss": round(loss.item(), 6)}
                record["val_accuracy_clean"], counts = validate(model, val_ids, val_y, precision=precision)
                record["val_predicted_counts"] = counts
                record["degenerate"] = is_degenerate(counts, degenerate_share)
                # A warm-up checkpoint is never selected, so its PGD-perturbed accuracy would
                # decide nothing and is not computed (about 30 s per evaluation of an MVP+adv
                # run on MiniLM). Training is the same either way: perturbed_accuracy draws
                # from its own forked generator.
                in_warmup = bool(adv) and epoch <= warmup
                if adv and not in_warmup:
                    record["val_accuracy_perturbed"] = adversarial.perturbed_accuracy(
                        model, val_ids, val_y, adv, precision=precision, seed=seed * 1_000_003 + step
                    )
                if in_warmup:
                    record["warmup"] = True
                acc = record["val_accuracy"] = None if in_warmup else record[f"val_accuracy_{select_on}"]
                model.train()
                history.append(record)
                shown = f"warm-up, val_accuracy (clean) {record['val_accuracy_clean']:.2f}" if in_warmup else f"val_accuracy ({select_on}) {acc:.2f}"
                flag = " (degenerate: one class for nearly every prediction)" if record["degenerate"] else ""
                print(f"step {step} epoch {epoch} loss {loss.item():.4f} {shown}{flag}", flush=True)
                if in_warmup:
                    continue
                if better(record, counters):
                    counters.update(best_acc=acc, best_step=step, best_degenerate=record["degenerate"], bad_evals=0)
                    best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
                else:
                    counters["bad_evals"] += 1
                    if counters["bad_evals"] >= patience:
                        stop = True
                        break
        counters.update(epoch=epoch, step=step, stop=stop, history=history)
        checkpoint.save(ckpt_path, spec, model, optimizer, scheduler, best_state, counters, order_rng)
        epoch_finished(epoch)

    if best_state is not None:
        model.load_state_dict(best_state)
    best = next((r for r in history if r["step"] == counters["best_step"] and not r.get("warmup")), None)
    with atomic_directory(model_out) as tmp:
        model.save(tmp)
        write_json_atomic(tmp / "run_info.json", {**run_info(spec, seed), "effective": {"eval_every_steps": eval_every, "precision": precision}})
    write_json_atomic(
        metrics_out,
        {
            "best_val_accuracy": counters["best_acc"],
            "selected_on": select_on,
            # The selected checkpoint predicts one class for >= degenerate_share of the
            # clean validation examples: it learned nothing usable (flagged in the tables).
            "degenerate": bool(best["degenerate"]) if best else None,
            "val_predicted_counts": best["val_predicted_counts"] if best else None,
            "degenerate_share": degenerate_share,
            **({"adv": adv} if adv else {}),
            "eval_every_steps": eval_every,
            "best_step": counters["best_step"],
            "steps": step,
            "stopped_early": stop,
            "train_examples": len(train_ids),
            "history": history,
            "seed": seed,
            **({"probe": counters["probe"]} if "probe" in counters else {}),
        },
    )
    checkpoint.remove(ckpt_path)


def better(record: dict[str, Any], counters: dict[str, Any]) -> bool:
    """Whether a validation record beats the best checkpoint so far.

    A checkpoint that is not degenerate always beats a degenerate one, then the higher
    validation accuracy wins. The reference code compares accuracy alone, and on perturbed
    validation inputs a constant predictor scores about 1/classes while a model that reads
    its input can score less: it would keep the collapsed checkpoint (FIDELITY.md).
    """
    best_degenerate = counters.get("best_degenerate", True)
    return (not record["degenerate"], record["val_accuracy"]) > (not best_degenerate, counters["best_acc"])


def epoch_finished(epoch: int) -> None:
    """Called after each epoch's checkpoint is written (a hook for tests and progress)."""
