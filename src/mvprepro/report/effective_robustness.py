"""Out-of-distribution results read as "effective robustness" (Taori et al., 2020).

Accuracy on another dataset tends to follow accuracy on the training dataset along a line
that most methods share; what says something about a method is how far it sits above or
below the line the *other* methods form. For every trained dataset, evaluate_on target,
backbone and metric (clean accuracy, robust accuracy under each attack), this module

- fits ``ood = a * in_distribution + b`` by least squares to the seed means of the other
  methods (leave-one-out, so a method never pulls the line towards itself) and reports the
  method's residual as its effective robustness (``NaN`` with fewer than two other methods
  at distinct accuracies: no line to compare with);
- draws one panel per (dataset, target, backbone) and metric: each method's seed mean with
  sample-standard-deviation whiskers on both axes, the least-squares line through all
  methods (dashed) and ``y = x`` (dotted: no loss out of distribution).

Axes are linear accuracies; Taori et al. fit on probit-scaled axes, which matters for
accuracies near 0 or 100 and many models, not for a handful of methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..aggregate.runs import read_runs
from ..fileio import write_text_atomic
from .figures import MARKERS, pyplot, save_figure


def _line(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float] | None:
    """Least-squares slope and intercept, or ``None`` when the points do not fix a line."""
    if len(xs) < 2 or np.ptp(xs) == 0:
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(slope), float(intercept)


def _metrics(attacks: list[str]) -> list[tuple[str, str, str]]:
    return [("clean_accuracy", "", "clean")] + [("robust_accuracy", a, f"robust ({a})") for a in attacks]


def effective_robustness_table(long: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """One row per dataset, target, backbone, metric and method (see the module docstring);
    with train_sizes, per training-set size too (a line never mixes sizes)."""
    if "train_size" in long.columns:
        parts = []
        for size in long.train_size.drop_duplicates():
            part = effective_robustness_table(long[long.train_size == size].drop(columns="train_size"), spec)
            parts.append(part.assign(train_size=size) if not part.empty else part)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    rows = []
    for dataset in spec["datasets"]:
        for target in spec["targets"].get(dataset, []):
            mine = long[long.dataset == dataset]
            for backbone in mine.backbone.drop_duplicates():
                runs = mine[mine.backbone == backbone]
                for metric, attack, label in _metrics(spec["attacks"]):
                    sel = runs[(runs.metric == metric) & (runs.attack == attack)]
                    points = []
                    for method in spec["methods"]:
                        ids = sel[(sel.method == method) & (sel.evaluated_on == dataset)]["value"]
                        oods = sel[(sel.method == method) & (sel.evaluated_on == target)]["value"]
                        if ids.empty or oods.empty:
                            continue
                        points.append((method, ids.mean(), ids.std(ddof=1), oods.mean(), oods.std(ddof=1), len(ids)))
                    for method, id_mean, id_std, ood_mean, ood_std, seeds in points:
                        others = [(p[1], p[3]) for p in points if p[0] != method]
                        fit = _line(np.array([o[0] for o in others]), np.array([o[1] for o in others]))
                        expected = fit[0] * id_mean + fit[1] if fit else float("nan")
                        rows.append(
                            {
                                "dataset": dataset,
                                "target": target,
                                "backbone": backbone,
                                "metric": label,
                                "method": method,
                                "num_seeds": seeds,
                                "id_mean": id_mean,
                                "id_std": id_std,
                                "ood_mean": ood_mean,
                                "ood_std": ood_std,
                                "expected_from_others": expected,
                                "effective_robustness": ood_mean - expected,
                            }
                        )
    return pd.DataFrame(rows)


def draw(table: pd.DataFrame, spec: dict[str, Any], path: str | Path) -> None:
    plt = pyplot()
    keys = ["dataset", "target", "backbone"] + (["train_size"] if "train_size" in table.columns else [])
    panels = table[keys].drop_duplicates().values.tolist()
    metrics = [label for _, _, label in _metrics(spec["attacks"])]
    fig, axes = plt.subplots(len(panels), len(metrics), figsize=(4.2 * len(metrics), 3.9 * len(panels)), squeeze=False)
    colours = plt.get_cmap("tab10")
    for row, panel in enumerate(panels):
        dataset, target, backbone = panel[:3]
        where = backbone if len(panel) == 3 else f"{backbone}, size {panel[3]}"
        for col, metric in enumerate(metrics):
            ax = axes[row][col]
            sub = table[(table[keys] == pd.Series(dict(zip(keys, panel)))).all(axis=1) & (table.metric == metric)]
            for i, method in enumerate(spec["methods"]):
                point = sub[sub.method == method]
                if point.empty:
                    continue
                p = point.iloc[0]
                ax.errorbar(
                    p.id_mean,
                    p.ood_mean,
                    xerr=0 if pd.isna(p.id_std) else p.id_std,
                    yerr=0 if pd.isna(p.ood_std) else p.ood_std,
                    fmt=MARKERS[i % len(MARKERS)],
                    color=colours(i % 10),
                    capsize=2,
                    label=method,
                )
            fit = _line(sub.id_mean.to_numpy(), sub.ood_mean.to_numpy())
            if fit:
                xs = np.array([0.0, 100.0])
                ax.plot(xs, fit[0] * xs + fit[1], "--", color="grey", linewidth=1, label="fit over methods")
            ax.plot([0, 100], [0, 100], ":", color="black", linewidth=1, label="y = x")
            ax.set_xlim(-2, 102)
            ax.set_ylim(-2, 102)
            ax.set_xlabel(f"{dataset} accuracy (%)")
            ax.set_ylabel(f"{target} accuracy (%)")
            ax.set_title(f"{metric}: {dataset} -> {target} ({where})", fontsize=9)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle("In- vs out-of-distribution accuracy (mean over seeds, whiskers: std)")
    save_figure(fig, path)


def effective_robustness(spec: dict[str, Any], runs: str | Path, figure: str | Path, table: str | Path) -> None:
    """Write the effective-robustness table (CSV) and figure (PNG) from ``runs.csv``."""
    rows = effective_robustness_table(read_runs(runs), spec)
    if rows.empty:
        raise ValueError("runs.csv has no out-of-distribution results; does any dataset list evaluate_on?")
    write_text_atomic(table, rows.to_csv(index=False, float_format="%.4f"))
    draw(rows, spec, figure)
