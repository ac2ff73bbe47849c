"""``runs.csv``, the long table of every run's numbers, as the summary stages read it.

The aggregate stage writes it (:mod:`.aggregate`); the comparison, figures, sample-efficiency
and other report stages read it. What they share (reading it, pairing a spec's runs with
their files, the in-distribution rows, one number format, the collapse mark) lives here,
below all of them, so that editing the aggregate stage reruns only its own job and its
consumers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

# Metrics read from each attack's summary; ``clean_accuracy`` there is the accuracy on the
# attacked subset, renamed so it is never confused with the whole-split clean accuracy.
ATTACK_METRICS = ("robust_accuracy", "clean_accuracy", "attack_success_rate", "mean_words_perturbed_pct", "mean_queries")

# The mark of a row with a collapsed seed, and the share the evaluate stage uses by default
# (for a clean.json that flags a collapse without saying its threshold).
DAGGER = "†"
LATEX_DAGGER = "$^\\dagger$"
DEFAULT_DEGENERATE_SHARE = 0.95


def attach_files(
    runs: list[dict[str, Any]], attacks: list[str], field: str, files: list[str], per_attack: bool = False
) -> list[dict[str, Any]]:
    """The spec's runs with their input files, which the rule passes in the same order.

    ``per_attack``: the files are one per run and attack (run-major), stored as a mapping
    attack -> file. A count that does not match is an error, never a silent misalignment.
    """
    width = len(attacks) if per_attack else 1
    if len(files) != len(runs) * width:
        raise ValueError(f"{len(files)} {field} files for {len(runs)} runs x {width}: pass them in the spec's order")
    out = []
    for i, run in enumerate(runs):
        mine = files[i * width : (i + 1) * width]
        out.append({**run, field: dict(zip(attacks, mine)) if per_attack else mine[0]})
    return out


def read_runs(path: str | Path) -> pd.DataFrame:
    """``runs.csv`` as written by :func:`aggregate`: every run on every dataset it was measured on."""
    long = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"train_size": str})
    long["attack"] = long["attack"].fillna("")
    return long


def group_keys(table: pd.DataFrame) -> list[str]:
    """What one row of the summary is: a dataset (and training-set size, with train_sizes),
    a backbone and a method."""
    return ["dataset", "train_size", "backbone", "method"] if "train_size" in table.columns else ["dataset", "backbone", "method"]


def in_distribution(long: pd.DataFrame) -> pd.DataFrame:
    """The rows measured on each run's own dataset (what the paper's table reports); a
    table without ``evaluated_on`` (written before evaluate_on existed) has no others."""
    if "evaluated_on" not in long.columns:
        return long
    return long[long["evaluated_on"] == long["dataset"]].reset_index(drop=True)


def fmt(mean: float, std: float) -> str:
    """``mean ± std`` in percent with one decimal; the mean alone when there is one seed."""
    if pd.isna(mean):
        return ""
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"
