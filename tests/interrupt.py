"""Stopping a running job or workflow the way users and clusters do, for the resume tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def run_then_stop(
    cmd: list[str],
    ready: Callable[[], bool],
    sig: int = signal.SIGKILL,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> None:
    """Start ``cmd`` in its own process group and send ``sig`` to the whole group as soon as
    ``ready()`` holds: SIGKILL is a node failure or a time limit (an unclean death), SIGINT
    a user's Ctrl-C. Fails if the command ends, or makes no progress, before that."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        # A test runner started in the background of a non-interactive shell inherits
        # SIGINT as ignored, and so would Snakemake: restore Ctrl-C's default for the run.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, "the command ended before it could be stopped"
            assert time.monotonic() < deadline, "the command made no progress"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait()
