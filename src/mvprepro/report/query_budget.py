"""Robust accuracy against the attacker's query budget (attacks whose ``query_budget`` is a list).

A robustness number is only as strong as the attack behind it: a method can look robust
because the attack gave up early. Each such attack ran once, with its largest budget, and
its summary holds the result at every listed budget (:func:`mvprepro.attack.merge_attack.by_query_budget`).
This stage puts them side by side: one panel per dataset and attack, one line per method
(mean over seeds, bars one standard deviation), the query budget on a log scale. A curve
still falling at the largest budget says the attack has not converged, and its robust
accuracy overstates robustness. A collapsed model (one class for nearly every prediction)
is drawn hollow and marked in the table: its robust accuracy is not robustness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..aggregate.formats import markdown_table
from ..aggregate.runs import DAGGER, fmt
from ..fileio import read_json, write_text_atomic
from .figures import pyplot, save_figure


def collect(spec: dict[str, Any], clean: list[str], attacks: list[str]) -> pd.DataFrame:
    """One row per run, attack and budget, from the files the rule passes in the order of
    ``spec["runs"]`` (attacks: run-major)."""
    runs, names = spec["runs"], spec["attacks"]
    if len(clean) != len(runs) or len(attacks) != len(runs) * len(names):
        raise ValueError(f"{len(clean)} clean and {len(attacks)} attack files for {len(runs)} runs x {len(names)} attacks: pass them in the spec's order")
    rows = []
    for i, run in enumerate(runs):
        degenerate = bool(read_json(clean[i]).get("degenerate", False))
        for j, attack in enumerate(names):
            summary = read_json(attacks[i * len(names) + j])
            by_budget = summary.get("by_query_budget")
            if not by_budget:
                raise ValueError(f"{attacks[i * len(names) + j]} has no results per query budget; rerun its merge_attack job")
            for budget in spec["budgets"][attack]:
                result = by_budget[str(budget)]
                rows.append(
                    {
                        "dataset": run["dataset"],
                        **({"train_size": str(run["size"])} if "size" in run else {}),
                        "backbone": run["backbone"],
                        "method": run["method"],
                        "seed": run["seed"],
                        "attack": attack,
                        "query_budget": int(budget),
                        "robust_accuracy": float(result["robust_accuracy"]),
                        "attack_success_rate": float(result["attack_success_rate"]),
                        "degenerate": degenerate,
                    }
                )
    return pd.DataFrame(rows)


def summarise(rows: pd.DataFrame, methods: list[str], attacks: list[str]) -> pd.DataFrame:
    """Mean and sample std over seeds per dataset, backbone, method, attack and budget (in
    the config's order of methods and attacks)."""
    keys = [k for k in ("dataset", "train_size", "backbone", "method", "attack", "query_budget") if k in rows.columns]
    out = []
    for key, group in rows.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        row["seeds"] = int(group["seed"].nunique())
        row["degenerate_seeds"] = int(group.loc[group["degenerate"], "seed"].nunique())
        for v in ("robust_accuracy", "attack_success_rate"):
            row[f"{v}_mean"], row[f"{v}_std"] = group[v].mean(), group[v].std(ddof=1)
        out.append(row)
    table = pd.DataFrame(out)
    table["_m"] = table["method"].map({m: i for i, m in enumerate(methods)})
    table["_a"] = table["attack"].map({a: i for i, a in enumerate(attacks)})
    order = [k if k != "attack" else "_a" for k in keys if k != "method"]
    order.insert(order.index("_a") + 1, "_m")  # per attack, the methods
    return table.sort_values(order, kind="stable").drop(columns=["_m", "_a"]).reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    """Methods as rows, budgets as columns, per dataset and attack."""
    budgets = sorted(table["query_budget"].unique())
    row_keys = [k for k in ("dataset", "train_size", "backbone", "attack", "method") if k in table.columns]
    header = [k.replace("_", " ").capitalize() for k in row_keys] + [f"≤ {b} queries" for b in budgets]
    rows = []
    for key, group in table.groupby(row_keys, sort=False):
        cells = list(key)
        if group["degenerate_seeds"].max():
            cells[-1] = f"{cells[-1]} {DAGGER}"
        by_budget = group.set_index("query_budget")
        cells += [fmt(by_budget.loc[b, "robust_accuracy_mean"], by_budget.loc[b, "robust_accuracy_std"]) if b in by_budget.index else "" for b in budgets]
        rows.append([(str(c), False) for c in cells])
    note = (
        "\nRobust accuracy (%) had the attack stopped after each number of model queries per example, "
        "mean ± std over seeds, from one attack run at the largest budget. TextAttack counts one word's "
        "candidate batch whole, so below the largest budget a value is an upper bound (at most one batch "
        f"optimistic). {DAGGER} some seeds predict one class for nearly every test example (a collapsed "
        "model): its robust accuracy is not robustness.\n"
    )
    return markdown_table(header, rows) + note


def plot(table: pd.DataFrame, methods: list[str], out: str | Path) -> None:
    plt = pyplot()
    panels = list(dict.fromkeys(zip(table["dataset"], table["attack"])))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.0), squeeze=False, sharey=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (dataset, attack) in zip(axes[0], panels):
        mine = table[(table.dataset == dataset) & (table.attack == attack)]
        for i, method in enumerate(m for m in methods if m in set(mine["method"])):
            for backbone, rows in mine[mine.method == method].groupby("backbone", sort=False):
                colour = colours[i % len(colours)]
                label = method if mine["backbone"].nunique() == 1 else f"{method} ({backbone})"
                rows = rows.sort_values("query_budget")
                ax.errorbar(rows["query_budget"], rows["robust_accuracy_mean"], yerr=rows["robust_accuracy_std"].fillna(0), color=colour, label=label, capsize=3)
                for x, y, bad in zip(rows["query_budget"], rows["robust_accuracy_mean"], rows["degenerate_seeds"]):
                    ax.plot([x], [y], "o", markerfacecolor="white" if bad else colour, markeredgecolor=colour, markersize=6)
        ax.set_xscale("log")
        budgets = sorted(mine["query_budget"].unique())
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("query budget per example (log scale)")
        ax.set_title(f"{dataset}: {attack}", fontsize=10)
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("robust accuracy (%); hollow = collapsed model")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, out)


def query_budget(spec: dict[str, Any], clean: list[str], attacks: list[str], figure: str | Path, csv: str | Path, md: str | Path) -> None:
    """The figure (PNG) and table (CSV, Markdown) of robust accuracy against the query budget."""
    table = summarise(collect(spec, clean, attacks), spec["methods"], spec["attacks"])
    write_text_atomic(csv, table.to_csv(index=False))
    write_text_atomic(md, to_markdown(table))
    plot(table, spec["methods"], figure)
