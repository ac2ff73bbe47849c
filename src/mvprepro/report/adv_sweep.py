"""The adversarial-budget sweep (``adv_sweep`` in the config): accuracy against epsilon.

The paper's PGD budget (L2, epsilon 1.0) is an absolute norm chosen for RoBERTa-base; on
another backbone the same number can be harmless or so strong that the best the training
objective can reach is a constant predictor. The sweep trains each listed +adv method
again at several budgets and puts, per dataset, its clean test accuracy, its robust
accuracy under each sweep attack and its PGD-perturbed validation accuracy (at its own
budget) against epsilon, with the method's clean counterpart at epsilon 0. A collapsed
point (one class for nearly every prediction) is drawn hollow and counted in the table:
its robust accuracy is not robustness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..aggregate.formats import markdown_table
from ..aggregate.runs import fmt
from ..fileio import read_json, write_text_atomic
from .figures import pyplot, save_figure


def collect(spec: dict[str, Any], metrics: list[str], clean: list[str], attacks: list[str]) -> pd.DataFrame:
    """One row per sweep point (dataset, method, epsilon, seed), from its run's files, which
    the rule passes in the order of ``spec["points"]`` (attacks: point-major)."""
    points, names = spec["points"], spec["attacks"]
    if not (len(metrics) == len(clean) == len(points) and len(attacks) == len(points) * len(names)):
        raise ValueError(
            f"{len(metrics)} metrics, {len(clean)} clean and {len(attacks)} attack files for {len(points)} points "
            f"x {len(names)} attacks: pass them in the spec's order"
        )
    rows = []
    for i, point in enumerate(points):
        m, c = read_json(metrics[i]), read_json(clean[i])
        adv = m.get("adv") or {}
        row = {
            "dataset": point["dataset"],
            "backbone": point["backbone"],
            "method": point["swept"],
            "run": point["method"],
            "seed": point["seed"],
            "epsilon": float(point["epsilon"]),
            "epsilon_unit": point["epsilon_unit"],
            "epsilon_absolute": float(adv.get("epsilon", 0.0)),
            "clean_accuracy": float(c["accuracy"]),
            "val_accuracy_perturbed": _perturbed(m),
            "degenerate": bool(c.get("degenerate", False) or m.get("degenerate", False)),
        }
        for j, attack in enumerate(names):
            row[f"{attack}_robust_accuracy"] = float(read_json(attacks[i * len(names) + j])["robust_accuracy"])
        rows.append(row)
    return pd.DataFrame(rows)


def _perturbed(metrics: dict[str, Any]) -> float:
    """The selected checkpoint's PGD-perturbed validation accuracy (NaN at epsilon 0)."""
    for record in metrics.get("history", []):
        if record["step"] == metrics.get("best_step") and not record.get("warmup"):
            return float(record.get("val_accuracy_perturbed", float("nan")))
    return float("nan")


def summarise(points: pd.DataFrame, attacks: list[str]) -> pd.DataFrame:
    """Mean (and sample std) over seeds per dataset, backbone, swept method and epsilon."""
    keys = ["dataset", "backbone", "method", "epsilon"]
    values = ["clean_accuracy", "val_accuracy_perturbed", *[f"{a}_robust_accuracy" for a in attacks]]
    out = []
    for key, group in points.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        row.update(
            epsilon_unit=group["epsilon_unit"].iloc[0],
            epsilon_absolute=group["epsilon_absolute"].iloc[0],
            run=group["run"].iloc[0],
            seeds=int(group["seed"].nunique()),
            degenerate_seeds=int(group["degenerate"].sum()),
        )
        for v in values:
            row[f"{v}_mean"], row[f"{v}_std"] = group[v].mean(), group[v].std(ddof=1)
        out.append(row)
    return pd.DataFrame(out).sort_values(["dataset", "backbone", "method", "epsilon"], kind="stable").reset_index(drop=True)


def _cell(mean: float, std: float) -> str:
    return fmt(mean, std) or "–"  # no perturbed accuracy at epsilon 0


def to_markdown(table: pd.DataFrame, attacks: list[str]) -> str:
    header = ["Dataset", "Method", "Epsilon", "Absolute", "Clean", "Perturbed (val)", *attacks]
    rows = []
    for r in table.itertuples(index=False):
        r = r._asdict()
        mark = " †" if r["degenerate_seeds"] else ""
        eps = "0 (clean)" if r["epsilon"] == 0 else f"{r['epsilon']:g}" + (" x norm" if r["epsilon_unit"] == "embedding_norm" else "")
        cells = [
                r["dataset"],
                f"{r['method']}{mark}",
                eps,
                f"{r['epsilon_absolute']:.3g}",
                _cell(r["clean_accuracy_mean"], r["clean_accuracy_std"]),
                _cell(r["val_accuracy_perturbed_mean"], r["val_accuracy_perturbed_std"]),
                *[_cell(r[f"{a}_robust_accuracy_mean"], r[f"{a}_robust_accuracy_std"]) for a in attacks],
        ]
        rows.append([(c, False) for c in cells])
    note = (
        "\nAccuracy (%) against the adversarial-training budget, mean ± std over seeds. Epsilon in the "
        "method's unit (x norm: times the backbone's mean token-embedding norm), and the absolute L2 "
        "budget it resolved to; epsilon 0 is the method's clean counterpart. Perturbed (val): the "
        "selected checkpoint's accuracy on PGD-perturbed validation inputs at its own budget. "
        "† some seeds predict one class for nearly every test example (a collapsed model): "
        "its robust accuracy is not robustness.\n"
    )
    return markdown_table(header, rows) + note


def plot(table: pd.DataFrame, attacks: list[str], out: str | Path) -> None:
    """One panel per dataset and swept method: accuracy against epsilon (evenly spaced,
    epsilon 0 = the clean counterpart first); hollow markers are collapsed models."""
    plt = pyplot()
    panels = list(dict.fromkeys(zip(table["dataset"], table["method"])))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.0), squeeze=False, sharey=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    series = [("clean_accuracy", "clean (test)", "-"), ("val_accuracy_perturbed", "PGD-perturbed (validation)", ":")]
    series += [(f"{a}_robust_accuracy", f"robust: {a}", "--") for a in attacks]
    for ax, (dataset, method) in zip(axes[0], panels):
        rows = table[(table.dataset == dataset) & (table.method == method)]
        epsilons = list(rows["epsilon"])
        xs = list(range(len(epsilons)))
        for i, (column, label, style) in enumerate(series):
            colour = colours[i % len(colours)]
            ys = rows[f"{column}_mean"].tolist()
            ax.plot(xs, ys, style, color=colour, label=label)
            for x, y, bad in zip(xs, ys, rows["degenerate_seeds"]):
                ax.plot([x], [y], "o", markerfacecolor="white" if bad else colour, markeredgecolor=colour, markersize=6)
        ax.set_xticks(xs, ["0" if e == 0 else f"{e:g}" for e in epsilons])
        unit = rows["epsilon_unit"].iloc[-1]
        ax.set_xlabel("epsilon" + (" (x mean token-embedding norm)" if unit == "embedding_norm" else " (L2, absolute)"))
        ax.set_title(f"{dataset}: {method}", fontsize=10)
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy (%); hollow = collapsed to one class")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, out)


def adv_sweep(spec: dict[str, Any], metrics: list[str], clean: list[str], attacks: list[str], figure: str | Path, csv: str | Path, md: str | Path) -> None:
    """The sweep's figure (PNG) and table (CSV, Markdown)."""
    table = summarise(collect(spec, metrics, clean, attacks), spec["attacks"])
    write_text_atomic(csv, table.to_csv(index=False))
    write_text_atomic(md, to_markdown(table, spec["attacks"]))
    plot(table, spec["attacks"], figure)
