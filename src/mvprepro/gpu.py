"""One GPU per job on a multi-GPU workstation.

Snakemake's ``--resources gpu=N`` only counts: it keeps at most N jobs that ask for
``gpu=1`` running at once, but does not tell a job *which* GPU is its own, so every job
would start on ``cuda:0``. On a Slurm cluster the scheduler solves this (a job started with
``--gpus=1`` sees only its allocated device in ``CUDA_VISIBLE_DEVICES``). For local runs
the workflow (``workflow/rules/common.smk``) exports the devices Snakemake may use as
``MVPREPRO_GPU_SLOTS`` (e.g. ``0,1,2,3``), and each GPU stage calls :func:`claim_device`
before torch initialises CUDA: the job takes an exclusive ``flock`` on one lock file per
device and narrows ``CUDA_VISIBLE_DEVICES`` to that device.

The lock is held by an open file descriptor for the life of the process, so the kernel
releases it however the job ends (also on SIGKILL); there is nothing to clean up. Lock
files live in ``MVPREPRO_GPU_LOCK_DIR`` (default: a per-user folder in the system temp
folder), shared by every run of this user on the machine, so two workflows started side
by side queue for GPUs instead of sharing one. When all devices are taken (a job that asks
for ``gpu=0`` but still uses CUDA), the job waits for one to free up rather than sharing.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import IO

SLOTS_ENV = "MVPREPRO_GPU_SLOTS"
LOCK_DIR_ENV = "MVPREPRO_GPU_LOCK_DIR"

# The open lock file of this process's device: kept referenced so the lock lives as long
# as the process.
_held: IO[bytes] | None = None


def lock_dir() -> Path:
    """Where the per-device lock files live (shared by all jobs of this user)."""
    default = Path(tempfile.gettempdir()) / f"mvprepro-gpu-locks-{os.getuid()}"
    return Path(os.environ.get(LOCK_DIR_ENV) or default)


def claim_device(poll_seconds: float = 2.0) -> str | None:
    """Reserve one device from ``MVPREPRO_GPU_SLOTS`` and make it the only visible one.

    Returns the device id, or None when no slots are configured (Slurm jobs, CPU-only
    runs, or a process started by hand): then ``CUDA_VISIBLE_DEVICES`` is left alone.
    Must run before torch initialises CUDA, which reads ``CUDA_VISIBLE_DEVICES`` once.
    """
    global _held
    devices = [d.strip() for d in os.environ.get(SLOTS_ENV, "").split(",") if d.strip()]
    if not devices:
        return None
    if _held is not None:  # already claimed in this process
        return os.environ.get("CUDA_VISIBLE_DEVICES")
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for device in devices:
            handle = open(folder / f"gpu-{device}.lock", "ab")  # noqa: SIM115 (held open on purpose)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held = handle
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            return device
        time.sleep(poll_seconds)
