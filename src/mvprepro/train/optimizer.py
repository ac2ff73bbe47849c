"""The AdamW every training here uses (fine-tuning and the masked-LM adaptation).

PyTorch's default AdamW on the CPU updates one parameter tensor at a time in Python
(``_single_tensor_adam``): for all-MiniLM-L6-v2 (22.7M parameters, half of them the word
embeddings, whose gradient is dense) that took 0.109 s of every step, 14% of a bf16 training
job of ``config/real.yaml``. The fused kernel does the same update in 0.017 s. Its
arithmetic is the same algorithm but not the same order of operations, so parameters differ
from the loop's in the last bits (up to 8e-7 after five steps at lr 1e-4); it is
deterministic, so a seed still gives the same numbers on a CPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

# Devices with a fused AdamW kernel; elsewhere (e.g. Apple's mps on older PyTorch) the default.
FUSED_DEVICES = {"cpu", "cuda"}


def adamw(params: Iterable[Any], lr: float, weight_decay: float = 0.01) -> torch.optim.AdamW:
    """AdamW over ``params`` (tensors or parameter groups), fused where every parameter lives
    on a device that has the fused kernel and is a floating-point tensor."""
    params = list(params)
    tensors = [p for item in params for p in (item["params"] if isinstance(item, dict) else [item])]
    fused = bool(tensors) and all(p.device.type in FUSED_DEVICES and p.is_floating_point() for p in tensors)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None)
