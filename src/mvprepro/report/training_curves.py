"""The training_curves stage: validation accuracy and training loss per evaluation of every
run of one dataset (PNG), one line per seed (one colour per size with several train_sizes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..aggregate.runs import attach_files
from ..fileio import read_json
from .figures import pyplot, save_figure


def training_curves(spec: dict[str, Any], metrics: list[str], out: str | Path) -> None:
    """Validation accuracy and training loss of every run of ``spec["dataset"]``, from the
    runs' metrics.json files (``metrics``, one per run of ``spec["runs"]``, in order)."""
    plt = pyplot()
    dataset, methods = spec["dataset"], spec["methods"]
    runs = [r for r in attach_files(spec["runs"], [], "metrics", metrics) if r["dataset"] == dataset]
    shown = [m for m in methods if any(r["method"] == m for r in runs)]
    fig, axes = plt.subplots(2, len(shown), figsize=(3.6 * len(shown), 5.5), squeeze=False, sharex="col", layout="constrained")
    colours = plt.get_cmap("tab10")
    backbones = sorted({r["backbone"] for r in runs})
    sizes = list(dict.fromkeys(r["size"] for r in runs if "size" in r))
    for col, method in enumerate(shown):
        selected_on = set()
        for run in (r for r in runs if r["method"] == method):
            metrics_json = read_json(run["metrics"])
            history = metrics_json.get("history", [])
            if not history:
                continue
            selected_on.add(metrics_json.get("selected_on", "clean"))
            steps = [h["step"] for h in history]
            label = f"seed {run['seed']}" + (f", {run['backbone']}" if len(backbones) > 1 else "")
            style = "-" if backbones.index(run["backbone"]) % 2 == 0 else "--"
            colour = colours(int(run["seed"]) % 10)
            if len(sizes) > 1:  # several train_sizes: one colour per size
                label = f"size {run['size']}, " + label
                colour = colours(sizes.index(run["size"]) % 10)
            # Warm-up evaluations of a +adv run have no selection accuracy (None): a gap.
            accuracy = [float("nan") if h.get("val_accuracy") is None else h["val_accuracy"] for h in history]
            axes[0][col].plot(steps, accuracy, style, marker="o", ms=3, color=colour, label=label)
            axes[1][col].plot(steps, [h["loss"] for h in history], style, marker="o", ms=3, color=colour, label=label)
        # A +adv run selects on PGD-perturbed validation accuracy: say which curve this is.
        axes[0][col].set_title(method + (" (PGD-perturbed)" if selected_on == {"perturbed"} else ""))
        axes[1][col].set_xlabel("optimizer step")
        axes[0][col].grid(alpha=0.3)
        axes[1][col].grid(alpha=0.3)
        axes[0][col].legend(fontsize=7)
    axes[0][0].set_ylabel("validation accuracy (%)")
    axes[1][0].set_ylabel("training loss")
    fig.suptitle(f"Training curves: {dataset}")
    save_figure(fig, out)
