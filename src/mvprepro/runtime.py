"""Where and how a job computes: its seed, its device and its numeric precision.

Every compute stage (adapt_backbone, train, evaluate, attack) and the benchmarks share
these helpers. They live here, below all of them, so that a stage's code digest (the
import closure of its entry module, :mod:`mvprepro.digest`) holds them without holding
another stage: editing the training loop must not rerun the masked-LM adaptation.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels: the same seed
    gives the same numbers on the CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def device_for(preference: str = "auto") -> torch.device:
    """The torch device for a config's ``device`` setting (``auto``: CUDA when present)."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def cpu_bf16_support() -> tuple[bool, str]:
    """Whether this CPU runs bf16 matrix products natively, and the evidence.

    Autocast to bf16 works on any CPU, but without the ``avx512_bf16`` or ``amx_bf16``
    instructions oneDNN emulates it and it is slower than fp32, so ``precision: bf16``
    only takes effect where the processor has them. ``MVPREPRO_CPU_BF16=0`` (or ``1``)
    overrides the detection, e.g. to reproduce a fallback; the job records the outcome.
    """
    forced = os.environ.get("MVPREPRO_CPU_BF16", "").strip()
    if forced in ("0", "1"):
        return forced == "1", f"MVPREPRO_CPU_BF16={forced}"
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False, "no /proc/cpuinfo to read the processor's instructions from"
    found = sorted({f for f in flags if f in ("avx512_bf16", "amx_bf16")})
    if found:
        return True, "processor has " + ", ".join(found)
    return False, "processor lacks avx512_bf16 and amx_bf16"


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The forward passes' precision: fp32 (the paper) or bf16 autocast, on CUDA or CPU.

    ``precision`` is the *effective* setting :func:`use_precision` returned, so a CPU
    without bf16 instructions has already fallen back to fp32 here.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32 or bf16, not {precision!r}")
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def use_precision(device: torch.device, precision: str) -> str:
    """Set up ``training.precision`` on ``device`` and return the precision that runs.

    ``bf16`` means bf16 autocast (and TF32 float32 products on CUDA). On the CPU it needs
    native bf16 instructions (:func:`cpu_bf16_support`); without them the job runs fp32
    and says so in its log, and callers record the returned value next to the request.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"training.precision must be fp32 or bf16, not {precision!r}")
    effective = precision
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = precision == "bf16"
        torch.backends.cudnn.allow_tf32 = precision == "bf16"
    elif device.type == "cpu" and precision == "bf16":
        supported, why = cpu_bf16_support()
        if supported:
            print(f"precision: bf16 autocast on the CPU ({why})", flush=True)
        else:
            effective = "fp32"
            print(f"precision: bf16 requested, running fp32 instead: {why}", flush=True)
    elif precision == "bf16":
        effective = "fp32"
        print(f"precision: bf16 requested, running fp32 on {device.type}", flush=True)
    return effective


def precision_record(requested: str, effective: str) -> dict[str, str]:
    """How a job's outputs record its precision: what the config asked and what ran."""
    return {"requested": requested, "effective": effective}
