"""Per-epoch training checkpoints, so a killed training job resumes instead of restarting.

A checkpoint lives next to the job's declared output (``<model>.checkpoint/``), outside what
Snakemake tracks, so Snakemake's clean-up of an incomplete job leaves it in place. It holds
everything the next epoch depends on: weights, optimizer and scheduler state, the best
weights so far, the early-stopping counters and every random generator's state. Resuming is
therefore exact: a resumed run ends with the same bytes as an uninterrupted one.

Tensors are stored as safetensors; optimizer and scheduler state (nested dicts of tensors
and numbers) with ``torch.save`` and read back with ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers. A checkpoint written for a
different spec (changed config or code) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..fileio import atomic_directory, write_json_atomic


def spec_digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def checkpoint_dir(model_out: str | Path) -> Path:
    out = Path(model_out)
    return out.with_name(out.name + ".checkpoint")


def _tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # Tied weights (e.g. the MLM decoder and the input embeddings) share storage, which
    # safetensors refuses; independent copies load back into the tied parameters fine.
    return {k: v.detach().cpu().clone().contiguous() for k, v in state.items()}


def save(
    path: Path,
    spec: dict[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    best_state: dict[str, torch.Tensor] | None,
    counters: dict[str, Any],
    order_rng: random.Random,
) -> None:
    with atomic_directory(path) as tmp:
        save_file(_tensors(model.state_dict()), str(tmp / "model.safetensors"))
        if best_state is not None:
            save_file(_tensors(best_state), str(tmp / "best.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
        save_file(rng, str(tmp / "rng.safetensors"))
        version, internal, gauss = order_rng.getstate()
        write_json_atomic(
            tmp / "state.json",
            {"spec": spec_digest(spec), "counters": counters, "order_rng": [version, list(internal), gauss]},
        )


def load(
    path: Path,
    spec: dict[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    order_rng: random.Random,
) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None] | None:
    """Restore a checkpoint in place; return (counters, best_state), or None if unusable."""
    state_file = path / "state.json"
    if not state_file.exists():
        return None
    state = json.loads(state_file.read_text())
    if state["spec"] != spec_digest(spec):
        print(f"ignoring checkpoint {path}: it was written for a different spec", flush=True)
        return None
    device = next(model.parameters()).device
    model.load_state_dict({k: v.to(device) for k, v in load_file(str(path / "model.safetensors")).items()})
    opt = torch.load(path / "optimizer.pt", weights_only=True, map_location=device)
    optimizer.load_state_dict(opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    rng = load_file(str(path / "rng.safetensors"))
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available() and "cuda0" in rng:
        torch.cuda.set_rng_state_all([rng[f"cuda{i}"] for i in range(torch.cuda.device_count())])
    version, internal, gauss = state["order_rng"]
    order_rng.setstate((version, tuple(internal), gauss))
    best = path / "best.safetensors"
    best_state = load_file(str(best)) if best.exists() else None
    print(f"resumed from {path} after epoch {state['counters']['epoch']}", flush=True)
    return state["counters"], best_state


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
