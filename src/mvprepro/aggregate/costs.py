"""The costs stage: wall time and peak memory of every adapt_backbone, train and attack job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..fileio import write_text_atomic


def costs(spec: dict[str, Any], benchmarks: list[str], out: str | Path) -> None:
    """Wall time and peak memory of every adapt_backbone, train and attack job, from
    Snakemake's benchmark files.

    Tells where the compute goes (and what a rerun would cost) without reading logs.
    """
    if len(benchmarks) != len(spec["jobs"]):
        raise ValueError(f"{len(benchmarks)} benchmark files for {len(spec['jobs'])} jobs: pass one per job, in the spec's order")
    rows = []
    for job, path in zip(spec["jobs"], benchmarks):
        bench = pd.read_csv(path, sep="\t")
        rows.append(
            {
                **job,
                "seconds": float(bench["s"].iloc[-1]),
                "max_rss_mb": float(bench["max_rss"].iloc[-1]) if "max_rss" in bench else float("nan"),
            }
        )
    table = pd.DataFrame(rows)
    write_text_atomic(out, table.to_csv(index=False, float_format="%.2f"))
