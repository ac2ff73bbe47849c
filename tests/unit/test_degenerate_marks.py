"""Collapsed models in the tables: flagged per run, marked with a dagger, never marked best.

A model that predicts one class for (nearly) every example has a robust accuracy an attack
cannot lower, so without a mark it would read as the most robust method. These tests build
the files the evaluate and attack stages write and check the tables say what happened.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mvprepro.aggregate import aggregate
from mvprepro.aggregate import runs as runs_table

ATTACKS = ["textfooler"]


def _write_run(folder: Path, name: str, acc: float, robust: float, flags: dict[str, Any] | None) -> tuple[str, str]:
    """A clean.json (with the collapse keys when ``flags`` is given, as an older evaluate
    stage wrote it without) and a textfooler summary; returns their paths."""
    clean = {"accuracy": acc, "correct": int(acc), "num_examples": 100, **(flags or {})}
    clean_path = folder / f"{name}-clean.json"
    clean_path.write_text(json.dumps(clean))
    summary = {"robust_accuracy": robust, "clean_accuracy": acc, "attack_success_rate": 100 * (1 - robust / acc),
               "mean_words_perturbed_pct": 5.0, "mean_queries": 30.0, "num_examples": 50}
    summary_path = folder / f"{name}-textfooler.json"
    summary_path.write_text(json.dumps(summary))
    return str(clean_path), str(summary_path)


def _flags(degenerate: bool) -> dict[str, Any]:
    counts = [97, 3] if degenerate else [55, 45]
    return {"predicted_counts": counts, "degenerate": degenerate, "degenerate_share": 0.95}


def _aggregate(tmp_path: Path, numbers: dict, ood: dict | None = None) -> dict[str, Path]:
    """Run :func:`aggregate.aggregate` on hand-made runs.

    ``numbers``: (method, seed) -> (clean, robust, flags or None) on sst2; ``ood``: the same
    for each run measured on the evaluate_on target imdb.
    """
    runs, clean, summaries = [], [], []
    for (method, seed), (acc, robust, flags) in numbers.items():
        runs.append({"dataset": "sst2", "backbone": "bb", "method": method, "seed": seed})
        c, s = _write_run(tmp_path, f"{method}-{seed}", acc, robust, flags)
        clean.append(c)
        summaries.append(s)
    ood_runs, ood_clean, ood_summaries = [], [], []
    for (method, seed), (acc, robust, flags) in (ood or {}).items():
        ood_runs.append({"dataset": "sst2", "backbone": "bb", "method": method, "seed": seed, "target": "imdb"})
        c, s = _write_run(tmp_path, f"{method}-{seed}-on-imdb", acc, robust, flags)
        ood_clean.append(c)
        ood_summaries.append(s)
    spec = {"runs": runs, "ood_runs": ood_runs, "datasets": ["sst2"], "methods": ["mlp_ft", "mvp"], "attacks": ATTACKS}
    if ood:
        spec["targets"] = {"sst2": ["imdb"]}
    out = {k: tmp_path / f"main.{k}" for k in ("runs", "csv", "md", "tex", "html")}
    aggregate.aggregate(spec, clean, summaries, **out, ood_clean=ood_clean, ood_attacks=ood_summaries)
    return out


# mvp seed 1 collapsed onto one class: its robust accuracy (the attack flips nothing) makes
# mvp's mean the highest, which must not win the bold.
COLLAPSED = {
    ("mlp_ft", 0): (90.0, 40.0, _flags(False)),
    ("mlp_ft", 1): (92.0, 42.0, _flags(False)),
    ("mvp", 0): (91.0, 44.0, _flags(False)),
    ("mvp", 1): (50.0, 50.0, _flags(True)),
}


def test_runs_csv_flags_each_run_from_the_clean_json_it_was_measured_on(tmp_path):
    # On imdb it is mlp_ft seed 0 that collapses, and mvp seed 1 that does not.
    ood = {
        ("mlp_ft", 0): (50.0, 50.0, _flags(True)),
        ("mlp_ft", 1): (70.0, 30.0, _flags(False)),
        ("mvp", 0): (71.0, 33.0, _flags(False)),
        ("mvp", 1): (72.0, 34.0, _flags(False)),
    }
    out = _aggregate(tmp_path, COLLAPSED, ood)
    long = runs_table.read_runs(out["runs"])
    assert long["degenerate"].dtype == bool
    flagged = long[long.degenerate][["method", "seed", "evaluated_on"]].drop_duplicates()
    assert sorted(map(tuple, flagged.values.tolist())) == [("mlp_ft", 0, "imdb"), ("mvp", 1, "sst2")]
    # Every row of the collapsed run carries the flag: clean accuracy and each attack metric.
    mine = long[(long.method == "mvp") & (long.seed == 1) & (long.evaluated_on == "sst2")]
    assert len(mine) == 1 + len(runs_table.ATTACK_METRICS) and mine.degenerate.all()
    assert (long.degenerate_share == 0.95).all()
    # The summary counts only the in-distribution collapse.
    table = pd.read_csv(out["csv"])
    assert table.degenerate_seeds.tolist() == [0, 1]


def test_a_collapsed_row_gets_a_dagger_and_a_footnote_and_never_the_bold(tmp_path):
    out = _aggregate(tmp_path, COLLAPSED)
    table = pd.read_csv(out["csv"])
    assert table.method.tolist() == ["mlp_ft", "mvp"]
    assert table.textfooler_robust_mean.tolist() == [41.0, 47.0]  # mvp's mean is the highest ...
    assert table.textfooler_best.tolist() == [True, False]  # ... and the bold goes to mlp_ft
    md = out["md"].read_text()
    assert "| sst2 | bb | mvp † | 2 | 70.5 ± 29.0 | 47.0 ± 4.2 |" in md
    assert "| sst2 | bb | mlp_ft | 2 | 91.0 ± 1.4 | **41.0 ± 1.4** |" in md
    assert "**47.0" not in md
    footnote = next(line for line in md.splitlines() if line.startswith("†"))
    assert "predict one class for ≥95% of the test examples" in footnote
    assert "sst2 / bb / mvp: 1 of 2 seeds" in footnote and "never marked best (bold)" in footnote
    tex = out["tex"].read_text()
    assert "mvp$^\\dagger$ & 2" in tex and "\\textbf{47.0" not in tex and "\\textbf{41.0 $\\pm$ 1.4}" in tex
    assert tex.count("\\textbf{") == int(table.textfooler_best.sum())
    assert "\\multicolumn{6}{l}{\\footnotesize $^\\dagger$ Some seeds predict one class for $\\geq$95\\%" in tex
    page = out["html"].read_text()
    assert "<td class='text'>mvp †</td>" in page and "<td class='best'>47.0 ± 4.2</td>" not in page
    assert "sst2 / bb / mvp: 1 of 2 seeds" in page


def test_when_every_row_collapsed_none_is_bold(tmp_path):
    numbers = {(m, s): (50.0, 50.0, _flags(True)) for m in ("mlp_ft", "mvp") for s in (0, 1)}
    out = _aggregate(tmp_path, numbers)
    table = pd.read_csv(out["csv"])
    assert table.degenerate_seeds.tolist() == [2, 2] and not table.textfooler_best.any()
    md = out["md"].read_text()
    assert "**" not in md and "sst2 / bb / mlp_ft: 2 of 2 seeds; sst2 / bb / mvp: 2 of 2 seeds" in md


def test_clean_json_without_the_keys_counts_as_not_degenerate(tmp_path):
    numbers = {(m, s): (90.0, 40.0 + s, None) for m in ("mlp_ft", "mvp") for s in (0, 1)}
    out = _aggregate(tmp_path, numbers)
    long = runs_table.read_runs(out["runs"])
    assert not long.degenerate.any() and long.degenerate_share.isna().all()
    table = pd.read_csv(out["csv"])
    assert table.degenerate_seeds.tolist() == [0, 0] and table.textfooler_best.all()
    md = out["md"].read_text()
    assert "†" not in md and "| sst2 | bb | mvp | 2 |" in md
    assert "dagger" not in out["tex"].read_text()


def test_a_runs_frame_without_the_flags_still_summarises():
    """A runs.csv written before the flags existed (or a hand-made frame) has no collapse."""
    rows = [
        {"dataset": "d", "backbone": "bb", "method": m, "seed": 0, "metric": metric, "attack": a, "value": v, "num_examples": 10}
        for m, v in (("a", 40.0), ("b", 50.0))
        for metric, a in (("clean_accuracy", ""), ("robust_accuracy", "tf"))
    ]
    table = aggregate.summarise(pd.DataFrame(rows), ["d"], ["a", "b"], ["tf"])
    assert table.degenerate_seeds.tolist() == [0, 0] and table.tf_best.tolist() == [False, True]
    assert aggregate.degenerate_footnote(table) == ""
