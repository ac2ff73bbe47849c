"""Sample efficiency: accuracy against training-set size (configs with ``train_sizes``).

The paper reports that MVP reaches a given clean accuracy with fewer training examples than
MLP-FT and keeps more of its robust accuracy at small sizes. For one dataset this module
draws clean and robust accuracy (each attack) against the number of training examples on a
log axis, one line per method (mean over seeds, a shaded 95% Student-t interval), and
tabulates, for each clean-accuracy target of ``report.sample_efficiency_targets``, the
smallest size at which each method's mean reaches it.

The number of examples of a size (``full`` or a fraction resolve only once the data is
known) is read from each run's ``metrics.json`` (``train_examples``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..aggregate.formats import html_document, html_table, markdown_table
from ..aggregate.runs import attach_files, in_distribution, read_runs
from ..fileio import read_json, write_text_atomic
from .statistics import t95
from .figures import MARKERS, pyplot, save_figure


def examples_per_size(runs: list[dict[str, Any]]) -> dict[str, int]:
    """Training examples of each size label, from the runs' metrics; every run of one size
    must have trained on the same number (the subsets do not depend on method or seed)."""
    counts: dict[str, int] = {}
    for run in runs:
        n = int(read_json(run["metrics"])["train_examples"])
        if counts.setdefault(run["size"], n) != n:
            raise ValueError(f"size {run['size']}: runs trained on {counts[run['size']]} and {n} examples; rerun the stale one")
    return counts


def curve_points(long: pd.DataFrame, counts: dict[str, int], attacks: list[str]) -> pd.DataFrame:
    """Mean, std and 95% interval over seeds per backbone, method, metric and size."""
    rows = []
    metrics = [("clean_accuracy", "", "clean")] + [("robust_accuracy", a, f"robust ({a})") for a in attacks]
    for metric, attack, label in metrics:
        sel = long[(long.metric == metric) & (long.attack == attack)]
        for (backbone, method, size), group in sel.groupby(["backbone", "method", "train_size"], sort=False):
            values = group["value"]
            n, mean = len(values), float(values.mean())
            std = float(values.std(ddof=1)) if n > 1 else float("nan")
            half = t95(n) * std / math.sqrt(n) if n > 1 else float("nan")
            rows.append(
                {"backbone": backbone, "method": method, "metric": label, "train_size": size, "train_examples": counts[size],
                 "num_seeds": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}
            )
    return pd.DataFrame(rows)


def smallest_sizes(points: pd.DataFrame, methods: list[str], targets: list[float]) -> pd.DataFrame:
    """Per backbone, method and clean-accuracy target: the smallest size whose mean reaches it."""
    clean = points[points.metric == "clean"]
    rows = []
    for backbone in clean.backbone.drop_duplicates():
        for method in methods:
            mine = clean[(clean.backbone == backbone) & (clean.method == method)].sort_values("train_examples")
            if mine.empty:
                continue
            for target in targets:
                reached = mine[mine["mean"] >= target]
                first = reached.iloc[0] if not reached.empty else None
                rows.append(
                    {
                        "backbone": backbone,
                        "method": method,
                        "clean_accuracy_target": float(target),
                        "smallest_size": None if first is None else first.train_size,
                        "train_examples": None if first is None else int(first.train_examples),
                        "clean_mean_there": None if first is None else float(first["mean"]),
                    }
                )
    return pd.DataFrame(rows)


def draw(points: pd.DataFrame, dataset: str, methods: list[str], path: str | Path) -> None:
    plt = pyplot()
    metrics = list(dict.fromkeys(points.metric))
    backbones = list(dict.fromkeys(points.backbone))
    fig, axes = plt.subplots(len(backbones), len(metrics), figsize=(4.3 * len(metrics), 3.8 * len(backbones)), squeeze=False)
    colours = plt.get_cmap("tab10")
    for row, backbone in enumerate(backbones):
        for col, metric in enumerate(metrics):
            ax = axes[row][col]
            for i, method in enumerate(methods):
                line = points[(points.backbone == backbone) & (points.metric == metric) & (points.method == method)]
                line = line.sort_values("train_examples")
                if line.empty:
                    continue
                colour = colours(i % 10)
                ax.plot(line.train_examples, line["mean"], marker=MARKERS[i % len(MARKERS)], color=colour, label=method)
                if line["std"].notna().any():
                    low, high = line.ci95_low.clip(0, 100), line.ci95_high.clip(0, 100)
                    ax.fill_between(line.train_examples, low, high, color=colour, alpha=0.15, linewidth=0)
            ax.set_xscale("log")
            sizes = sorted(points.train_examples.unique())
            ax.set_xticks(sizes, [str(int(n)) for n in sizes])
            ax.minorticks_off()
            ax.set_ylim(-2, 102)
            ax.set_xlabel("training examples (log scale)")
            ax.set_ylabel("accuracy (%)")
            ax.set_title(f"{metric} ({backbone})", fontsize=9)
            ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Sample efficiency: {dataset} (mean over seeds, band: 95% interval)")
    save_figure(fig, path)


NOTE = (
    "The smallest training-set size at which each method's mean clean accuracy over seeds "
    "reaches each target; empty where no configured size reaches it. Subsets are nested and "
    "class-balanced, the same for every method and seed."
)


def _cells(table: pd.DataFrame, targets: list[float]) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    header = ["Backbone", "Method"] + [f"Clean ≥ {t:g}%" for t in targets]
    rows = []
    for (backbone, method), group in table.groupby(["backbone", "method"], sort=False):
        cells = [(str(backbone), False), (str(method), False)]
        for target in targets:
            hit = group[group.clean_accuracy_target == float(target)].iloc[0]
            text = "" if pd.isna(hit.train_examples) else f"{int(hit.train_examples)} ({hit.clean_mean_there:.1f})"
            cells.append((text, False))
        rows.append(cells)
    return header, rows


def sample_efficiency(
    spec: dict[str, Any], runs: str | Path, metrics: list[str], figure: str | Path, csv: str | Path, md: str | Path, html: str | Path
) -> None:
    """Write the figure (PNG) and the smallest-size table (CSV, Markdown, HTML) of one dataset."""
    dataset, targets = spec["dataset"], [float(t) for t in spec["accuracy_targets"]]
    trained = attach_files(spec["runs"], [], "metrics", metrics)
    long = in_distribution(read_runs(runs))
    if "train_size" not in long.columns:
        raise ValueError("runs.csv has no train_size column; the config sets no train_sizes")
    long = long[long.dataset == dataset]
    points = curve_points(long, examples_per_size(trained), spec["attacks"])
    table = smallest_sizes(points, spec["methods"], targets)
    draw(points, dataset, spec["methods"], figure)
    write_text_atomic(csv, table.to_csv(index=False, float_format="%.4f"))
    header, rows = _cells(table, targets)
    write_text_atomic(md, markdown_table(header, rows) + "\n" + NOTE + " Cells: examples (mean clean accuracy there).\n")
    body = html_table(header, rows, 2) + f"<p class='note'>{NOTE} Cells: examples (mean clean accuracy there).</p>"
    write_text_atomic(html, html_document(f"Sample efficiency: {dataset}", body))
