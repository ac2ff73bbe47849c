"""The plots stage: the accuracy and attack-success figures of the report (PNG).

- ``accuracy``: clean vs robust accuracy per method, one panel per dataset (and backbone);
  bars are means over seeds, whiskers the sample standard deviation, dots the seeds, so the
  spread is visible even with three seeds.
- ``success``: attack success rate against the share of words the successful attacks
  perturbed, one point per run and attack: a robust model should sit low (few successes),
  and what successes remain should need more edits (right).

Training curves are their own stage (:mod:`.training_curves`); the drawing helpers all
figures share are in :mod:`.figures`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..aggregate.runs import in_distribution, read_runs
from .figures import MARKERS, pyplot, save_figure

def _panels(long: pd.DataFrame, datasets: list[str]) -> list[tuple[str, str]]:
    present = long[["dataset", "backbone"]].drop_duplicates()
    return [(d, b) for d in datasets for b in present[present.dataset == d].backbone]


def accuracy_plot(long: pd.DataFrame, datasets: list[str], methods: list[str], attacks: list[str], path: str | Path) -> None:
    plt = pyplot()
    panels = _panels(long, datasets)
    series = [("clean_accuracy", "", "clean")] + [("robust_accuracy", a, f"robust ({a})") for a in attacks]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.5, 1.1 * len(methods) * len(series) / 2) * len(panels), 4), squeeze=False)
    width = 0.8 / len(series)
    colours = plt.get_cmap("tab10")
    for ax, (dataset, backbone) in zip(axes[0], panels):
        sub = long[(long.dataset == dataset) & (long.backbone == backbone)]
        shown = [m for m in methods if m in set(sub.method)]
        for j, (metric, attack, label) in enumerate(series):
            for i, method in enumerate(shown):
                values = sub[(sub.method == method) & (sub.metric == metric) & (sub.attack == attack)]["value"]
                if values.empty:
                    continue
                x = i + (j - (len(series) - 1) / 2) * width
                std = values.std(ddof=1) if len(values) > 1 else 0.0
                ax.bar(x, values.mean(), width, yerr=std, capsize=2, color=colours(j), alpha=0.75, label=label if i == 0 else None)
                ax.scatter([x] * len(values), values, s=10, color="black", zorder=3)
        ax.set_xticks(range(len(shown)), shown, rotation=30, ha="right")
        ax.set_ylim(0, 105)
        ax.set_title(f"{dataset} ({backbone})")
        ax.set_ylabel("accuracy (%)")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Clean vs robust accuracy (bars: mean over seeds, whiskers: std, dots: seeds)")
    save_figure(fig, path)


def success_plot(long: pd.DataFrame, datasets: list[str], methods: list[str], attacks: list[str], path: str | Path) -> None:
    plt = pyplot()
    panels = _panels(long, datasets)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4), squeeze=False)
    colours = plt.get_cmap("tab10")
    wide = long[long.metric.isin(["attack_success_rate", "mean_words_perturbed_pct"])].pivot_table(
        index=["dataset", "backbone", "method", "seed", "attack"], columns="metric", values="value"
    )
    wide = wide.reset_index()
    for ax, (dataset, backbone) in zip(axes[0], panels):
        sub = wide[(wide.dataset == dataset) & (wide.backbone == backbone)]
        for i, method in enumerate(methods):
            for k, attack in enumerate(attacks):
                pts = sub[(sub.method == method) & (sub.attack == attack)]
                if pts.empty:
                    continue
                # A run without any success has no perturbed share: drawn hollow at 0.
                none = pts["attack_success_rate"] <= 0
                style = {"color": colours(i % 10), "marker": MARKERS[k % len(MARKERS)], "s": 36, "alpha": 0.8}
                ax.scatter(pts[~none]["mean_words_perturbed_pct"], pts[~none]["attack_success_rate"], label=f"{method}, {attack}", **style)
                if none.any():
                    hollow = {**{k: v for k, v in style.items() if k != "color"}, "facecolors": "none", "edgecolors": style["color"]}
                    ax.scatter([0.0] * int(none.sum()), pts[none]["attack_success_rate"], **hollow)
        ax.set_xlim(left=-1, right=max(10.0, float(sub["mean_words_perturbed_pct"].max()) * 1.1 if not sub.empty else 10.0))
        ax.set_xlabel("words perturbed by successful attacks (%)")
        ax.set_ylabel("attack success rate (%)")
        ax.set_ylim(-3, 103)
        ax.set_title(f"{dataset} ({backbone})")
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(4, max(1, len(labels))), fontsize=8)
    fig.suptitle("Attack success vs share of words perturbed (one point per run; hollow: no success)")
    save_figure(fig, path)


def by_size(long: pd.DataFrame, datasets: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """With train_sizes, one panel per dataset and size: the dataset relabelled ``sst2 (size 64)``."""
    if "train_size" not in long.columns:
        return long, datasets
    long = long.assign(dataset=long.dataset + " (size " + long.train_size.astype(str) + ")")
    labels = list(dict.fromkeys(long.dataset))
    return long, [label for d in datasets for label in labels if label.startswith(d + " (size ")]


def plots(spec: dict[str, Any], runs: str | Path, accuracy: str | Path, success: str | Path) -> None:
    long, datasets = by_size(in_distribution(read_runs(runs)), spec["datasets"])
    accuracy_plot(long, datasets, spec["methods"], spec["attacks"], accuracy)
    success_plot(long, datasets, spec["methods"], spec["attacks"], success)
