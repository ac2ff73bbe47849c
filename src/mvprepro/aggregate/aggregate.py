"""Summarise every run into the paper's table: mean ± std over seeds per dataset x method.

``runs.csv`` keeps every run's raw numbers (long format: one row per run, metric and attack;
``evaluated_on`` names the dataset whose test split it was measured on, the run's own or an
``evaluate_on`` target), ``main.csv`` the summary with one column per statistic,
``main.md``/``main.tex`` the human-readable tables and ``main.html`` the same for the HTML
report. Out-of-distribution results become columns of their own (``ood_<target>_...``),
beside the in-distribution ones of the same row. The standard deviation
is the sample standard deviation (ddof=1) over seeds; it is empty with a single seed. The
best robust accuracy per dataset and backbone is marked (bold), ties included, because that
is the comparison the paper's table is read for.

A collapsed model (``degenerate`` in its clean.json: one class takes at least
``degenerate_share`` of its test predictions) gets a high "robust accuracy" for free, since
an attack cannot flip a constant prediction. Its rows carry a dagger and a footnote, and
they are never marked best, so a collapse can never pass for robustness.
"""

from __future__ import annotations

import html as _html
from pathlib import Path
from typing import Any

import pandas as pd

from ..fileio import read_json, write_text_atomic
from .formats import html_document, html_table, latex_escape, markdown_table
from .runs import ATTACK_METRICS, DAGGER, DEFAULT_DEGENERATE_SHARE, LATEX_DAGGER, attach_files, fmt, group_keys, in_distribution

def collapse_flags(clean: dict[str, Any]) -> dict[str, Any]:
    """``degenerate`` and ``degenerate_share`` of one clean.json; a file written before the
    evaluate stage flagged collapses has neither and counts as not degenerate."""
    return {"degenerate": bool(clean.get("degenerate", False)), "degenerate_share": clean.get("degenerate_share", float("nan"))}


def collect(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Every run's numbers in long format, read from its clean.json and attack summaries
    (a run with a ``target`` was measured on that evaluate_on dataset). Every row of a run
    carries the collapse flags of the clean.json of the dataset it was measured on."""
    rows = []
    for run in runs:
        key = {k: run[k] for k in ("dataset", "backbone", "method", "seed")}
        if "size" in run:
            key["train_size"] = str(run["size"])
        key["evaluated_on"] = run.get("target", run["dataset"])
        clean = read_json(run["clean"])
        flags = collapse_flags(clean)
        rows.append({**key, "metric": "clean_accuracy", "attack": "", "value": clean["accuracy"], "num_examples": clean["num_examples"], **flags})
        for attack, path in sorted(run["attacks"].items()):
            summary = read_json(path)
            for metric in ATTACK_METRICS:
                name = metric if metric != "clean_accuracy" else "attacked_clean_accuracy"
                rows.append({**key, "metric": name, "attack": attack, "value": summary[metric], "num_examples": summary["num_examples"], **flags})
    return pd.DataFrame(rows)


def degenerate_seeds(group: pd.DataFrame) -> tuple[int, float]:
    """How many seeds of one summary row collapsed, and the share they were judged by (the
    largest given; NaN when no clean.json says). A frame without the flags (a runs.csv
    written before them) has none."""
    if "degenerate" not in group.columns:
        return 0, float("nan")
    flagged = group["degenerate"].eq(True)
    count = int(group.loc[flagged, "seed"].nunique())
    share = group["degenerate_share"].max() if "degenerate_share" in group.columns else float("nan")
    return count, float(share)


def _ordered(
    table: pd.DataFrame, dataset_order: list[str], method_order: list[str], size_order: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    table = table.assign(
        _d=table["dataset"].map({d: i for i, d in enumerate(dataset_order)}),
        _m=table["method"].map({m: i for i, m in enumerate(method_order)}),
    )
    keys = ["_d", "backbone", "_m"]
    if "train_size" in table.columns:  # sizes in the configured order, within each dataset
        table["_z"] = [(size_order or {}).get(d, []).index(z) if z in (size_order or {}).get(d, []) else 0 for d, z in zip(table.dataset, table.train_size)]
        keys = ["_d", "_z", "backbone", "_m"]
    return table.sort_values(keys, kind="stable").drop(columns=[k for k in keys if k.startswith("_")]).reset_index(drop=True)


def _ood_columns(row: dict[str, Any], group: pd.DataFrame, targets: list[str], attack_order: list[str]) -> None:
    """``ood_<target>_clean_mean`` (and ``_std``), ``ood_<target>_<attack>_robust_mean`` ..."""
    for target in targets:
        on = group[group.evaluated_on == target]
        clean = on[on.metric == "clean_accuracy"]["value"]
        row[f"ood_{target}_clean_mean"], row[f"ood_{target}_clean_std"] = clean.mean(), clean.std(ddof=1)
        for attack in attack_order:
            robust = on[(on.metric == "robust_accuracy") & (on.attack == attack)]["value"]
            row[f"ood_{target}_{attack}_robust_mean"] = robust.mean()
            row[f"ood_{target}_{attack}_robust_std"] = robust.std(ddof=1)


def summarise(
    long: pd.DataFrame,
    dataset_order: list[str],
    method_order: list[str],
    attack_order: list[str],
    targets: dict[str, list[str]] | None = None,
    sizes: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """One row per dataset (x training-set size) x backbone x method; ``<attack>_best``
    marks the best robust mean among the methods of a dataset, size and backbone.

    ``targets`` (dataset -> its evaluate_on datasets) adds out-of-distribution columns;
    ``sizes`` (dataset -> its train_sizes labels) orders the sizes.
    """
    targets = targets or {}
    everything, long = long, in_distribution(long)
    keys = group_keys(long)
    out = []
    for values, group in long.groupby(keys, sort=False):
        row: dict[str, Any] = {**dict(zip(keys, values)), "num_seeds": group["seed"].nunique()}
        row["degenerate_seeds"], row["degenerate_share"] = degenerate_seeds(group)
        dataset = row["dataset"]
        clean = group[group.metric == "clean_accuracy"]
        row["clean_mean"], row["clean_std"] = clean["value"].mean(), clean["value"].std(ddof=1)
        row["clean_num_examples"] = int(clean["num_examples"].max())
        for attack in attack_order:
            sel = group[(group.metric == "robust_accuracy") & (group.attack == attack)]
            if sel.empty:
                continue
            row[f"{attack}_robust_mean"], row[f"{attack}_robust_std"] = sel["value"].mean(), sel["value"].std(ddof=1)
            row[f"{attack}_num_examples"] = int(sel["num_examples"].max())
        if targets.get(dataset):
            mine = everything[(everything[keys] == pd.Series(dict(zip(keys, values)))).all(axis=1)]
            _ood_columns(row, mine, targets[dataset], attack_order)
        out.append(row)
    table = _ordered(pd.DataFrame(out), dataset_order, method_order, sizes)
    for attack in attack_order:
        if f"{attack}_robust_mean" in table.columns:
            table[f"{attack}_best"] = best_robust(table, attack, [k for k in keys if k != "method"])
    return table


def best_robust(table: pd.DataFrame, attack: str, within: list[str]) -> pd.Series:
    """Which rows have the best robust mean of their dataset (size) and backbone.

    Rows with a collapsed seed neither win nor set the bar: their robust accuracy measures
    the collapse, not robustness. Rounded as displayed, so that two methods shown with the
    same number are both bold.
    """
    col = f"{attack}_robust_mean"
    eligible = table["degenerate_seeds"] == 0
    best = table[col].where(eligible).groupby([table[k] for k in within]).transform("max")
    return eligible & (table[col].round(1) == best.round(1))


def attacks_in(table: pd.DataFrame, attack_order: list[str]) -> list[str]:
    return [a for a in attack_order if f"{a}_robust_mean" in table.columns]


def ood_targets(table: pd.DataFrame) -> list[str]:
    """The evaluate_on datasets that have columns in the summary, in column order."""
    return [c[len("ood_") : -len("_clean_mean")] for c in table.columns if c.startswith("ood_") and c.endswith("_clean_mean")]


def _cells(table: pd.DataFrame, attacks: list[str]) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and (text, is_best) cells shared by the Markdown, LaTeX and HTML tables."""
    targets = ood_targets(table)
    sized = "train_size" in table.columns
    header = ["Dataset"] + (["Train size"] if sized else []) + ["Backbone", "Method", "Seeds", "Clean acc."]
    header += [f"Robust acc. ({a})" for a in attacks]
    for target in targets:
        header += [f"OOD {target}: clean"] + [f"OOD {target}: {a}" for a in attacks]
    rows = []
    for _, r in table.iterrows():
        cells = [(str(r["dataset"]), False)] + ([(str(r["train_size"]), False)] if sized else [])
        cells += [(str(r["backbone"]), False), (method_label(r), False)]
        cells += [(str(int(r["num_seeds"])), False), (fmt(r["clean_mean"], r["clean_std"]), False)]
        cells += [(fmt(r[f"{a}_robust_mean"], r[f"{a}_robust_std"]), bool(r[f"{a}_best"])) for a in attacks]
        for t in targets:
            cells.append((fmt(r[f"ood_{t}_clean_mean"], r[f"ood_{t}_clean_std"]), False))
            cells += [(fmt(r[f"ood_{t}_{a}_robust_mean"], r[f"ood_{t}_{a}_robust_std"]), False) for a in attacks]
        rows.append(cells)
    return header, rows


def method_label(row: pd.Series) -> str:
    """The method's name, with the dagger when any of its seeds collapsed."""
    return f"{row['method']} {DAGGER}" if row.get("degenerate_seeds", 0) > 0 else str(row["method"])


def _row_name(row: pd.Series) -> str:
    parts = [row["dataset"]] + ([f"size {row['train_size']}"] if "train_size" in row.index else []) + [row["backbone"], row["method"]]
    return " / ".join(str(p) for p in parts)


def _share_text(table: pd.DataFrame) -> str:
    """The collapse threshold(s) of the marked rows, as a percentage (the default where no
    clean.json says)."""
    shares = sorted(set(table["degenerate_share"].dropna())) or [DEFAULT_DEGENERATE_SHARE]
    return "/".join(f"{round(100 * s, 2):g}%" for s in shares)


def degenerate_footnote(table: pd.DataFrame) -> str:
    """What the dagger means, with each marked row's count; empty when no seed collapsed."""
    if "degenerate_seeds" not in table.columns:
        return ""
    marked = table[table["degenerate_seeds"] > 0]
    if marked.empty:
        return ""
    counts = "; ".join(f"{_row_name(r)}: {int(r['degenerate_seeds'])} of {int(r['num_seeds'])} seeds" for _, r in marked.iterrows())
    return (
        f"{DAGGER} A collapsed model: some seeds predict one class for ≥{_share_text(marked)} of the "
        f"test examples ({counts}). Its robust accuracy is not robustness (an attack cannot flip a "
        f"constant prediction), so a row marked {DAGGER} is never marked best (bold), even with the "
        "highest robust accuracy."
    )


def label_columns(table: pd.DataFrame) -> int:
    """How many leading columns of the rendered table are labels (dataset, size, backbone, method)."""
    return 4 if "train_size" in table.columns else 3


def note(table: pd.DataFrame, attacks: list[str]) -> str:
    examples = ", ".join(f"{a}: {int(table[f'{a}_num_examples'].max())}" for a in attacks)
    sized = ", training-set size" if "train_size" in table.columns else ""
    ood = (
        " OOD columns: the same models on the test split of another dataset (evaluate_on), "
        "attacked alike; empty where a row's dataset does not list that target."
        if ood_targets(table)
        else ""
    )
    return (
        "Accuracies in percent, mean ± sample standard deviation over seeds; the best robust "
        f"accuracy per dataset{sized} and backbone in bold. Clean accuracy is on the whole test split "
        f"(up to {int(table['clean_num_examples'].max())} examples); robust accuracy on the first "
        f"attacked examples of the test split ({examples} examples), counting originally "
        "misclassified examples as errors." + ood
    )


def markdown(table: pd.DataFrame, attack_order: list[str]) -> str:
    attacks = attacks_in(table, attack_order)
    header, rows = _cells(table, attacks)
    footnote = degenerate_footnote(table)
    return markdown_table(header, rows) + "\n" + (footnote + "\n\n" if footnote else "") + note(table, attacks) + "\n"


def latex_footnote(table: pd.DataFrame) -> str:
    """The dagger's meaning in one short line under the tabular (the per-row counts go in
    a comment above it, to keep the table's width)."""
    share = latex_escape(_share_text(table[table["degenerate_seeds"] > 0]))
    return (
        f"{LATEX_DAGGER} Some seeds predict one class for $\\geq${share} of the test examples "
        "(a collapsed model); such a row is never marked best."
    )


def latex(table: pd.DataFrame, attack_order: list[str]) -> str:
    """A booktabs table body that ``\\input{main.tex}`` drops into a paper."""
    attacks = attacks_in(table, attack_order)
    header, rows = _cells(table, attacks)
    labels = label_columns(table)
    footnote = degenerate_footnote(table)
    lines = [
        "% " + note(table, attacks),
        *(["% " + footnote] if footnote else []),
        "% Needs \\usepackage{booktabs}.",
        "\\begin{tabular}{" + "l" * labels + "r" * (len(header) - labels) + "}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in header) + " \\\\",
        "\\midrule",
    ]
    previous = None
    for cells in rows:
        if previous is not None and cells[0][0] != previous:
            lines.append("\\midrule")
        previous = cells[0][0]
        texts = [latex_escape(t).replace(" ± ", " $\\pm$ ").replace(f" {DAGGER}", LATEX_DAGGER) for t, _ in cells]
        texts = [f"\\textbf{{{t}}}" if best and t else t for t, (_, best) in zip(texts, cells)]
        lines.append(" & ".join(texts) + " \\\\")
    lines.append("\\bottomrule")
    if footnote:
        lines.append(f"\\multicolumn{{{len(header)}}}{{l}}{{\\footnotesize {latex_footnote(table)}}} \\\\")
    lines.append("\\end{tabular}")
    return "\n".join(lines) + "\n"


def html_page(table: pd.DataFrame, attack_order: list[str]) -> str:
    attacks = attacks_in(table, attack_order)
    header, rows = _cells(table, attacks)
    footnote = degenerate_footnote(table)
    body = html_table(header, rows, label_columns(table))
    body += (f"<p class='note'>{_html.escape(footnote)}</p>" if footnote else "") + f"<p class='note'>{note(table, attacks)}</p>"
    return html_document("Clean and robust accuracy", body)


def aggregate(
    spec: dict[str, Any],
    clean: list[str],
    attacks: list[str],
    csv: str | Path,
    md: str | Path,
    tex: str | Path,
    html: str | Path,
    runs: str | Path,
    ood_clean: list[str] = (),  # type: ignore[assignment]
    ood_attacks: list[str] = (),  # type: ignore[assignment]
) -> None:
    """Write ``runs`` (long CSV), ``csv``, ``md``, ``tex`` and ``html`` tables.

    ``clean`` holds one clean.json per run of ``spec["runs"]``, ``attacks`` one attack
    summary per run and attack, in that order; ``ood_clean`` and ``ood_attacks`` the same
    for ``spec["ood_runs"]`` (each run on each evaluate_on target of its dataset).
    """
    in_dist = attach_files(spec["runs"], spec["attacks"], "clean", clean)
    in_dist = attach_files(in_dist, spec["attacks"], "attacks", attacks, per_attack=True)
    ood = attach_files(spec.get("ood_runs", []), spec["attacks"], "clean", list(ood_clean))
    ood = attach_files(ood, spec["attacks"], "attacks", list(ood_attacks), per_attack=True)
    long = collect(in_dist + ood)
    table = summarise(long, spec["datasets"], spec["methods"], spec["attacks"], spec.get("targets"), spec.get("sizes"))
    write_text_atomic(runs, long.to_csv(index=False))
    write_text_atomic(csv, table.to_csv(index=False, float_format="%.4f"))
    write_text_atomic(md, markdown(table, spec["attacks"]))
    write_text_atomic(tex, latex(table, spec["attacks"]))
    write_text_atomic(html, html_page(table, spec["attacks"]))
