"""What every figure of the report shares: a headless matplotlib, markers, and a PNG writer
whose bytes depend only on the figure (no timestamp or version), so identical results give
identical files. Below every figure stage, so editing one stage's drawing reruns only it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..fileio import write_bytes_atomic

MARKERS = "osD^v<>P*X"


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: cluster nodes and CI have no display
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path) -> None:
    buf = io.BytesIO()
    # No timestamps or software versions in the file, so identical results give identical PNGs.
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    pyplot().close(fig)
    write_bytes_atomic(path, buf.getvalue())
