"""Summarise every run into the paper's table: mean ± std over seeds per dataset x method.

``runs.csv`` keeps every run's raw numbers (long format), ``main.csv`` the summary with one
column per statistic, ``main.md`` the human-readable table. The standard deviation is the
sample standard deviation (ddof=1) over seeds; it is empty with a single seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .fileio import read_json, write_text_atomic


def collect(runs: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for run in runs:
        key = {k: run[k] for k in ("dataset", "backbone", "method", "seed")}
        clean = read_json(run["clean"])
        rows.append({**key, "metric": "clean_accuracy", "attack": "", "value": clean["accuracy"], "num_examples": clean["num_examples"]})
        for attack, path in sorted(run["attacks"].items()):
            summary = read_json(path)
            for metric in ("robust_accuracy", "clean_accuracy", "attack_success_rate", "mean_words_perturbed_pct", "mean_queries"):
                name = metric if metric != "clean_accuracy" else "attacked_clean_accuracy"
                rows.append({**key, "metric": name, "attack": attack, "value": summary[metric], "num_examples": summary["num_examples"]})
    return pd.DataFrame(rows)


def summarise(long: pd.DataFrame, dataset_order: list[str], method_order: list[str], attack_order: list[str]) -> pd.DataFrame:
    out = []
    for (dataset, backbone, method), group in long.groupby(["dataset", "backbone", "method"], sort=False):
        row: dict[str, Any] = {"dataset": dataset, "backbone": backbone, "method": method, "num_seeds": group["seed"].nunique()}
        clean = group[group.metric == "clean_accuracy"]["value"]
        row["clean_mean"], row["clean_std"] = clean.mean(), clean.std(ddof=1)
        for attack in attack_order:
            sel = group[(group.metric == "robust_accuracy") & (group.attack == attack)]
            if sel.empty:
                continue
            row[f"{attack}_robust_mean"], row[f"{attack}_robust_std"] = sel["value"].mean(), sel["value"].std(ddof=1)
            row[f"{attack}_num_examples"] = int(sel["num_examples"].max())
        out.append(row)
    table = pd.DataFrame(out)
    table["_d"] = table["dataset"].map({d: i for i, d in enumerate(dataset_order)})
    table["_m"] = table["method"].map({m: i for i, m in enumerate(method_order)})
    return table.sort_values(["_d", "backbone", "_m"]).drop(columns=["_d", "_m"]).reset_index(drop=True)


def _fmt(mean: float, std: float) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"


def markdown(table: pd.DataFrame, attack_order: list[str]) -> str:
    attacks = [a for a in attack_order if f"{a}_robust_mean" in table.columns]
    header = ["Dataset", "Backbone", "Method", "Seeds", "Clean acc."] + [f"Robust acc. ({a})" for a in attacks]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in table.iterrows():
        cells = [r["dataset"], r["backbone"], r["method"], str(int(r["num_seeds"])), _fmt(r["clean_mean"], r["clean_std"])]
        cells += [_fmt(r[f"{a}_robust_mean"], r[f"{a}_robust_std"]) for a in attacks]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        "",
        "Accuracies in percent, mean ± sample standard deviation over seeds. Clean accuracy is on the",
        "whole test split; robust accuracy on the first attacked examples of the test split "
        + ", ".join(f"({a}: {int(table[f'{a}_num_examples'].max())} examples)" for a in attacks)
        + ", counting originally misclassified examples as errors.",
    ]
    return "\n".join(lines + notes) + "\n"


def aggregate(spec: dict[str, Any], out_csv: str | Path, out_md: str | Path, out_runs: str | Path) -> None:
    long = collect(spec["runs"])
    table = summarise(long, spec["datasets"], spec["methods"], spec["attacks"])
    write_text_atomic(out_runs, long.to_csv(index=False))
    write_text_atomic(out_csv, table.to_csv(index=False, float_format="%.4f"))
    write_text_atomic(out_md, markdown(table, spec["attacks"]))


def cost_table(spec: dict[str, Any], out_csv: str | Path) -> None:
    """Wall time and peak memory of every train and attack job, from Snakemake's benchmark files.

    Tells where the compute goes (and what a rerun would cost) without reading logs.
    """
    rows = []
    for job in spec["jobs"]:
        bench = pd.read_csv(job["benchmark"], sep="\t")
        rows.append(
            {
                **{k: v for k, v in job.items() if k != "benchmark"},
                "seconds": float(bench["s"].iloc[-1]),
                "max_rss_mb": float(bench["max_rss"].iloc[-1]) if "max_rss" in bench else float("nan"),
            }
        )
    table = pd.DataFrame(rows)
    write_text_atomic(out_csv, table.to_csv(index=False, float_format="%.2f"))
