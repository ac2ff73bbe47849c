"""The paper's headline comparisons, and our numbers beside the published ones.

Comparisons are *paired over seeds*: seed s of MVP and seed s of MLP-FT see the same data
order and initial head, so the per-seed difference removes much of the seed-to-seed spread
that the two methods share. Each comparison reports the mean difference, its sample standard
deviation, a 95% t-interval, the range and how many seeds favour the method. The "average"
rows average the difference over datasets (per attack, and over all attacks) seed by seed
before taking statistics, as the paper's "on average" claims do. A difference is in bold
only where its interval excludes zero: with few seeds most means are noise, and bolding
them would read as a claim the runs do not support.

Published numbers come from a CSV the user keeps in ``config/``: only values a source
actually shows belong there. Cells without a published value stay empty.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..aggregate.formats import Cell, html_document, html_table, markdown_table
from ..aggregate.runs import fmt, in_distribution, read_runs
from ..data.subsets import FULL
from ..fileio import write_text_atomic
from .published import PUBLISHED_COLUMNS, PUBLISHED_METRICS, UNSPECIFIED, load_published
from .statistics import t95

def _stats(diff: pd.Series) -> dict[str, Any]:
    n = int(diff.size)
    mean = float(diff.mean()) if n else float("nan")
    std = float(diff.std(ddof=1)) if n > 1 else float("nan")
    half = t95(n) * std / math.sqrt(n) if n > 1 else float("nan")
    return {
        "num_seeds": n,
        "diff_mean": mean,
        "diff_std": std,
        "diff_ci95_low": mean - half,
        "diff_ci95_high": mean + half,
        "diff_min": float(diff.min()) if n else float("nan"),
        "diff_max": float(diff.max()) if n else float("nan"),
        "seeds_favouring_method": int((diff > 0).sum()),
    }


def _per_seed(long: pd.DataFrame, method: str, metric: str, attack: str) -> pd.DataFrame:
    sel = long[(long.method == method) & (long.metric == metric) & (long.attack == attack)]
    return sel.set_index(["dataset", "backbone", "seed"])["value"]


def paired_differences(
    long: pd.DataFrame, pairs: list[tuple[str, str]], datasets: list[str], attacks: list[str]
) -> pd.DataFrame:
    """One row per comparison x backbone x (dataset or average) x metric/attack."""
    targets = [("clean_accuracy", "")] + [("robust_accuracy", a) for a in attacks]
    rows = []
    for method, baseline in pairs:
        for backbone in long.backbone.drop_duplicates():
            per_attack = {}
            for metric, attack in targets:
                a = _per_seed(long[long.backbone == backbone], method, metric, attack)
                b = _per_seed(long[long.backbone == backbone], baseline, metric, attack)
                both = pd.concat({"method": a, "baseline": b}, axis=1).dropna()
                both["diff"] = both["method"] - both["baseline"]
                key = {"comparison": f"{method} - {baseline}", "method": method, "baseline": baseline, "backbone": backbone, "metric": metric, "attack": attack}
                for dataset in datasets:
                    sub = both[both.index.get_level_values("dataset") == dataset]
                    if sub.empty:
                        continue
                    rows.append({**key, "dataset": dataset, "method_mean": sub["method"].mean(), "baseline_mean": sub["baseline"].mean(), **_stats(sub["diff"])})
                # Average over datasets seed by seed: only seeds present for every dataset.
                wide = both["diff"].unstack("dataset").reindex(columns=datasets).dropna()
                avg = wide.mean(axis=1)
                if metric == "robust_accuracy":
                    per_attack[attack] = avg
                if len(datasets) > 1 and not wide.empty:
                    rows.append({**key, "dataset": "average", "method_mean": float("nan"), "baseline_mean": float("nan"), **_stats(avg)})
            if len(attacks) > 1 and per_attack:
                over = pd.concat(per_attack, axis=1).dropna().mean(axis=1)
                key = {"comparison": f"{method} - {baseline}", "method": method, "baseline": baseline, "backbone": backbone, "metric": "robust_accuracy", "attack": "all"}
                rows.append({**key, "dataset": "average" if len(datasets) > 1 else datasets[0], "method_mean": float("nan"), "baseline_mean": float("nan"), **_stats(over)})
    columns = ["comparison", "method", "baseline", "backbone", "dataset", "metric", "attack", "num_seeds", "method_mean", "baseline_mean", "diff_mean", "diff_std", "diff_ci95_low", "diff_ci95_high", "diff_min", "diff_max", "seeds_favouring_method"]
    return pd.DataFrame(rows, columns=columns)


def _signed(mean: float, std: float) -> str:
    if pd.isna(mean):
        return ""
    text = f"{mean:+.1f}"
    return text if pd.isna(std) else f"{text} ± {std:.1f}"


def per_size(long: pd.DataFrame, pairs: list[tuple[str, str]], datasets: list[str], attacks: list[str]) -> pd.DataFrame:
    """:func:`paired_differences` for each training-set size on its own (with train_sizes);
    averages over datasets never mix sizes."""
    if "train_size" not in long.columns:
        return paired_differences(long, pairs, datasets, attacks)
    parts = []
    for size in long.train_size.drop_duplicates():
        sub = long[long.train_size == size]
        present = [d for d in datasets if d in set(sub.dataset)]
        part = paired_differences(sub, pairs, present, attacks)
        part.insert(part.columns.get_loc("dataset") + 1, "train_size", size)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def excludes_zero(low: float, high: float) -> bool:
    """Whether a 95% interval lies strictly on one side of zero; a single seed has no
    interval (NaN bounds) and never does."""
    if pd.isna(low) or pd.isna(high):
        return False
    return bool(low > 0 or high < 0)


def _comparison_cells(table: pd.DataFrame) -> tuple[list[str], list[list[Cell]]]:
    header = ["Comparison", "Backbone", "Dataset", "Metric", "Seeds", "Method", "Baseline", "Difference", "95% CI", "Seeds favouring"]
    rows = []
    for _, r in table.iterrows():
        metric = "clean" if r["metric"] == "clean_accuracy" else f"robust ({r['attack']})"
        dataset = r["dataset"] + (f" (size {r['train_size']})" if "train_size" in table.columns else "")
        ci = "" if pd.isna(r["diff_ci95_low"]) else f"[{r['diff_ci95_low']:+.1f}, {r['diff_ci95_high']:+.1f}]"
        rows.append(
            [
                (r["comparison"], False),
                (r["backbone"], False),
                (dataset, r["dataset"] == "average"),
                (metric, False),
                (str(int(r["num_seeds"])), False),
                ("" if pd.isna(r["method_mean"]) else f"{r['method_mean']:.1f}", False),
                ("" if pd.isna(r["baseline_mean"]) else f"{r['baseline_mean']:.1f}", False),
                (_signed(r["diff_mean"], r["diff_std"]), excludes_zero(r["diff_ci95_low"], r["diff_ci95_high"])),
                (ci, False),
                (f"{int(r['seeds_favouring_method'])}/{int(r['num_seeds'])}", False),
            ]
        )
    return header, rows


COMPARISON_NOTE = (
    "Differences in accuracy points (method minus baseline), paired by seed: mean ± sample "
    "standard deviation of the per-seed differences, with a 95% Student-t interval. A difference "
    "is in bold only where its interval excludes zero (clean or robust alike); one seed gives no "
    "interval and no bold. 'average' rows average the per-seed difference over datasets first "
    "('all': over datasets and attacks)."
)


def beside_published(long: pd.DataFrame, published: pd.DataFrame, datasets: list[str] | None = None) -> pd.DataFrame:
    """Ours (mean, std, seeds) and theirs side by side; an outer join so nothing is hidden.

    A published robust accuracy with attack 'unspecified' is set beside each of our attacks
    and keeps 'unspecified' in ``published_attack`` so the reader sees the caveat.
    """
    # Attack success rates only where a source reports one: the main table has the rest.
    metrics = [m for m in PUBLISHED_METRICS if m != "attack_success_rate" or (published.metric == m).any()]
    ours = (
        long[long.metric.isin(metrics)]
        .groupby(["dataset", "backbone", "method", "metric", "attack"], sort=False)["value"]
        .agg(ours_mean="mean", ours_std=lambda v: v.std(ddof=1), num_seeds="count")
        .reset_index()
    )
    theirs = published.rename(columns={"value": "published"}).assign(published_attack=published["attack"])
    keys = ["dataset", "backbone", "method", "metric"]
    merged = ours.merge(theirs[theirs.attack != UNSPECIFIED], on=keys + ["attack"], how="outer")
    loose = {tuple(r[k] for k in keys): r for _, r in theirs[theirs.attack == UNSPECIFIED].iterrows()}
    used = set()
    for i, row in merged.iterrows():
        key = tuple(row[k] for k in keys)
        if key in loose and pd.isna(row["published"]) and pd.notna(row["ours_mean"]):
            merged.loc[i, ["published", "published_attack", "source"]] = [loose[key]["published"], UNSPECIFIED, loose[key]["source"]]
            used.add(key)
    orphans = [r for key, r in loose.items() if key not in used]
    if orphans:
        merged = pd.concat([merged, pd.DataFrame(orphans)], ignore_index=True)
    merged["difference"] = merged["ours_mean"] - merged["published"]
    columns = ["dataset", "backbone", "method", "metric", "attack", "num_seeds", "ours_mean", "ours_std", "published", "published_attack", "difference", "source"]
    merged = merged.reindex(columns=columns)
    # Table order for datasets (published-only datasets after them), metrics as listed.
    known = list(datasets or []) + sorted(set(merged["dataset"]) - set(datasets or []))
    merged["_d"] = merged["dataset"].map({d: i for i, d in enumerate(known)})
    merged["_m"] = merged["metric"].map({m: i for i, m in enumerate(PUBLISHED_METRICS)})
    merged = merged.sort_values(["_d", "backbone", "method", "_m", "attack"], kind="stable")
    return merged.drop(columns=["_d", "_m"]).reset_index(drop=True)


def _published_cells(table: pd.DataFrame) -> tuple[list[str], list[list[Cell]]]:
    header = ["Dataset", "Backbone", "Method", "Metric", "Attack", "Seeds", "Ours", "Published", "Ours - published", "Source"]
    rows = []
    for _, r in table.iterrows():
        attack = r["attack"] if isinstance(r["attack"], str) else ""
        if isinstance(r["published_attack"], str) and r["published_attack"] == UNSPECIFIED and attack != UNSPECIFIED:
            attack = f"{attack} (published: attack not named)"
        rows.append(
            [
                (r["dataset"], False),
                (r["backbone"], False),
                (r["method"], False),
                (r["metric"].replace("_", " "), False),
                (attack, False),
                ("" if pd.isna(r["num_seeds"]) else str(int(r["num_seeds"])), False),
                (fmt(r["ours_mean"], r["ours_std"]), False),
                ("" if pd.isna(r["published"]) else f"{r['published']:.1f}", False),
                ("" if pd.isna(r["difference"]) else f"{r['difference']:+.1f}", False),
                (r["source"] if isinstance(r["source"], str) else "", False),
            ]
        )
    return header, rows


PUBLISHED_NOTE = (
    "Our mean ± std over seeds beside the value the source reports. Empty cells: no published "
    "value for that cell (never estimated), or no run of ours for a published one."
)


def compare(
    spec: dict[str, Any],
    runs: str | Path,
    comparisons_csv: str | Path,
    comparisons_md: str | Path,
    comparisons_html: str | Path,
    published_csv: str | Path,
    published_md: str | Path,
    published_html: str | Path,
    published: str | Path | None = None,
) -> None:
    """Write the comparisons (csv, md, html) and ours-vs-published (csv, md, html) tables;
    ``published`` is the published-numbers file (``report.published``), if any."""
    long = in_distribution(read_runs(runs))
    pairs = [tuple(p) for p in spec["comparisons"]]
    diffs = per_size(long, pairs, spec["datasets"], spec["attacks"])
    write_text_atomic(comparisons_csv, diffs.to_csv(index=False, float_format="%.4f"))
    header, rows = _comparison_cells(diffs)
    if not pairs:
        md = "No comparison applies: the config has none of the paper's method pairs and sets no report.comparisons.\n"
    else:
        md = markdown_table(header, rows) + "\n" + COMPARISON_NOTE + "\n"
    write_text_atomic(comparisons_md, md)
    write_text_atomic(
        comparisons_html,
        html_document("Headline comparisons (paired over seeds)", html_table(header, rows, 4) + f"<p class='note'>{COMPARISON_NOTE}</p>"),
    )

    numbers = load_published(published) if published else pd.DataFrame(columns=list(PUBLISHED_COLUMNS))
    if "train_size" in long.columns:  # published numbers are for whole training sets
        long = long[long.train_size == FULL].drop(columns="train_size")
    table = beside_published(long, numbers, spec["datasets"])
    write_text_atomic(published_csv, table.to_csv(index=False, float_format="%.4f"))
    header, rows = _published_cells(table)
    write_text_atomic(published_md, markdown_table(header, rows) + "\n" + PUBLISHED_NOTE + "\n")
    write_text_atomic(
        published_html,
        html_document("Our numbers beside the published ones", html_table(header, rows, 5) + f"<p class='note'>{PUBLISHED_NOTE}</p>"),
    )
