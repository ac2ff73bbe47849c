"""The demo config end to end: tables, figures, example pages and the HTML report agree with the per-run files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import REPO, snakemake

pytestmark = pytest.mark.workflow


DEMO_METHODS = ("mlp_ft", "mvp", "mlp_ft_adv", "mvp_adv")


def test_demo_table_has_every_dataset_and_method(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "main.csv")
    assert sorted(zip(table.dataset, table.method)) == sorted(
        (d, m) for d in ("sst2", "ag_news", "boolq") for m in DEMO_METHODS
    )
    # A collapsed model (one class for >= 95% of the test examples) is counted from the
    # per-run files and marked in the table. In the demo every model learns, the
    # adversarially trained ones included (after their clean warm-up), so nothing is marked
    # and every method is well above chance on every dataset.
    for (dataset, method), row in table.set_index(["dataset", "method"]).iterrows():
        flags = _per_run(demo_run, dataset, method, "clean", "degenerate")
        assert row.degenerate_seeds == sum(flags.values()), (dataset, method)
    assert (table.degenerate_seeds == 0).all(), table[table.degenerate_seeds > 0][["dataset", "method"]]
    chance = {"sst2": 50.0, "ag_news": 25.0, "boolq": 50.0}
    assert (table.clean_mean > table.dataset.map(chance) + 20).all(), table[["dataset", "method", "clean_mean"]]
    assert (table.num_seeds == 2).all()
    for col in ("clean_mean", "textfooler_robust_mean", "textbugger_robust_mean"):
        assert table[col].between(0, 100).all(), col
    # The demo attacks the whole test split, so robust accuracy can never exceed clean.
    assert (table.textfooler_robust_mean <= table.clean_mean + 1e-9).all()
    assert (table.textbugger_robust_mean <= table.clean_mean + 1e-9).all()
    md = (demo_run / "results" / "tables" / "main.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Dataset")]
    assert len(rows) == 12 and all("±" in r for r in rows)
    marked = {(r.split(" | ")[0][2:], r.split(" | ")[2].split()[0]) for r in rows if "†" in r.split(" | ")[2]}
    assert marked == set(zip(*[table[table.degenerate_seeds > 0][k] for k in ("dataset", "method")]))


def test_demo_table_matches_per_run_files(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "main.csv").set_index(["dataset", "method"])
    for (dataset, method), row in table.iterrows():
        runs = sorted((demo_run / "results" / "runs" / dataset / "tiny-roberta" / method / "size-full").glob(f"seed-*/eval-{dataset}"))
        assert len(runs) == 2
        clean = [json.loads((r / "clean.json").read_text())["accuracy"] for r in runs]
        robust = [json.loads((r / "attacks" / "textfooler.json").read_text())["robust_accuracy"] for r in runs]
        assert row.clean_mean == pytest.approx(sum(clean) / 2, abs=1e-3)
        assert row.textfooler_robust_mean == pytest.approx(sum(robust) / 2, abs=1e-3)
        assert row.clean_std == pytest.approx(pd.Series(clean).std(ddof=1), abs=1e-3)


def test_demo_reports_disabled_constraints_and_records(demo_run):
    run = demo_run / "results" / "runs" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0"
    summary = json.loads((run / "eval-boolq" / "attacks" / "textfooler.json").read_text())
    status = {c["constraint"]: c["status"] for c in summary["constraints"]}
    assert status["part_of_speech"] == "disabled"
    assert status["sentence_similarity(angular>=0.840845057, window=15)"] == "disabled"
    rows = [json.loads(line) for line in (run / "eval-boolq" / "attacks" / "textfooler.records.jsonl").read_text().splitlines()]
    assert len(rows) == summary["num_examples"] == 24
    assert {"original_text", "perturbed_text", "result", "num_queries"} <= set(rows[0])
    info = json.loads((run / "model" / "run_info.json").read_text())
    assert info["seed"] == 0 and "torch" in info["versions"]
    assert (demo_run / "logs" / "train" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0.log").exists()
    assert (demo_run / "logs" / "evaluate" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0" / "eval-boolq.log").exists()
    assert (demo_run / "results" / "benchmarks" / "train" / "boolq" / "tiny-roberta" / "mvp" / "size-full" / "seed-0.tsv").exists()


def test_demo_cost_table_lists_every_train_and_attack_job(demo_run):
    costs = pd.read_csv(demo_run / "results" / "tables" / "costs.csv")
    assert (costs.rule == "train").sum() == 24 and (costs.rule == "attack").sum() == 48
    assert (costs.seconds > 0).all() and (costs.max_rss_mb > 0).all()


def _per_run(demo_run: Path, dataset: str, method: str, name: str, key: str) -> dict[int, float]:
    """{seed: value} read straight from the per-run JSON files."""
    out = {}
    for run in sorted((demo_run / "results" / "runs" / dataset / "tiny-roberta" / method / "size-full").glob("seed-*")):
        path = run / f"eval-{dataset}" / ("clean.json" if name == "clean" else f"attacks/{name}.json")
        out[int(run.name.split("-")[1])] = json.loads(path.read_text())[key]
    return out


def test_demo_best_marks_and_latex_match_per_run_files(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "main.csv")
    tex = (demo_run / "results" / "tables" / "main.tex").read_text()
    for dataset in ("sst2", "ag_news", "boolq"):
        for attack in ("textfooler", "textbugger"):
            # A row with a collapsed seed is never marked best (its robustness is not robustness).
            flagged = set(table[(table.dataset == dataset) & (table.degenerate_seeds > 0)].method)
            candidates = [m for m in DEMO_METHODS if m not in flagged]
            means = {m: sum(v.values()) / 2 for m in candidates for v in [_per_run(demo_run, dataset, m, attack, "robust_accuracy")]}
            best = {m for m, v in means.items() if round(v, 1) == round(max(means.values()), 1)}
            rows = table[table.dataset == dataset]
            assert set(rows[rows[f"{attack}_best"]].method) == best, (dataset, attack)
    assert tex.count("\\textbf{") == int(table[["textfooler_best", "textbugger_best"]].sum().sum())
    assert "\\begin{tabular}" in tex and "ag\\_news" in tex


def test_demo_comparisons_match_per_run_files(demo_run):
    diffs = pd.read_csv(demo_run / "results" / "tables" / "comparisons.csv", keep_default_na=False, na_values=[""])
    # The paper's pairs, all present in the demo.
    assert set(diffs.comparison) == {"mvp - mlp_ft", "mvp - mlp_ft_adv", "mvp_adv - mvp"}
    diffs = diffs[diffs.comparison == "mvp - mlp_ft"]
    averages = {}
    for attack in ("textfooler", "textbugger"):
        per_dataset = []
        for dataset in ("sst2", "ag_news", "boolq"):
            mvp = _per_run(demo_run, dataset, "mvp", attack, "robust_accuracy")
            base = _per_run(demo_run, dataset, "mlp_ft", attack, "robust_accuracy")
            d = pd.Series({s: mvp[s] - base[s] for s in mvp})
            per_dataset.append(d)
            row = diffs[(diffs.dataset == dataset) & (diffs.attack == attack)].iloc[0]
            assert row.num_seeds == 2
            assert row.diff_mean == pytest.approx(d.mean(), abs=1e-3)
            assert row.diff_std == pytest.approx(d.std(ddof=1), abs=1e-3)
            assert row.seeds_favouring_method == int((d > 0).sum())
        averages[attack] = sum(per_dataset) / 3
        row = diffs[(diffs.dataset == "average") & (diffs.attack == attack)].iloc[0]
        assert row.diff_mean == pytest.approx(averages[attack].mean(), abs=1e-3)
    overall = diffs[diffs.attack == "all"].iloc[0]
    assert overall.diff_mean == pytest.approx(((averages["textfooler"] + averages["textbugger"]) / 2).mean(), abs=1e-3)
    clean = diffs[(diffs.metric == "clean_accuracy") & (diffs.dataset == "boolq")].iloc[0]
    mvp, base = _per_run(demo_run, "boolq", "mvp", "clean", "accuracy"), _per_run(demo_run, "boolq", "mlp_ft", "clean", "accuracy")
    assert clean.diff_mean == pytest.approx(sum(mvp[s] - base[s] for s in mvp) / 2, abs=1e-3)


def test_demo_published_table_never_invents_values(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "published.csv", keep_default_na=False, na_values=[""])
    source = pd.read_csv(demo_run / "config" / "published.csv", comment="#", keep_default_na=False, na_values=[""])
    # The demo's tiny backbone has no published numbers: ours stand alone ...
    ours = table[table.backbone == "tiny-roberta"]
    assert ours.published.isna().all() and ours.difference.isna().all()
    assert len(ours) == 3 * 4 * 3  # datasets x methods x (clean + 2 attacks)
    boolq = ours[(ours.dataset == "boolq") & (ours.method == "mvp") & (ours.attack == "textfooler")].iloc[0]
    assert boolq.ours_mean == pytest.approx(sum(_per_run(demo_run, "boolq", "mvp", "textfooler", "robust_accuracy").values()) / 2, abs=1e-3)
    # ... and every published value is shown as given, with its source.
    theirs = table[table.published.notna()]
    assert sorted(theirs.published) == sorted(source.value.astype(float))
    assert theirs.ours_mean.isna().all() and (theirs.source != "").all()


def test_demo_figures_and_example_pages(demo_run):
    results = demo_run / "results"
    for png in ("plots/accuracy.png", "plots/attack_success.png", *[f"plots/curves/{d}.png" for d in ("sst2", "ag_news", "boolq")]):
        assert (results / png).read_bytes()[:4] == b"\x89PNG", png
    for dataset in ("sst2", "ag_news", "boolq"):
        page = (results / "examples" / f"{dataset}.html").read_text()
        assert "<h2>mlp_ft (tiny-roberta)</h2>" in page and "<h2>mvp (tiny-roberta)</h2>" in page
        successes = 0
        for method in DEMO_METHODS:
            for attack in ("textfooler", "textbugger"):
                rows = [json.loads(line) for r in (0, 1) for line in (results / "runs" / dataset / "tiny-roberta" / method / "size-full" / f"seed-{r}" / f"eval-{dataset}" / "attacks" / f"{attack}.records.jsonl").read_text().splitlines()]
                n = sum(row["result"] == "successful" for row in rows)
                successes += min(n, 5)
                assert f"{attack}: {n} successful of" in page
        assert page.count("class='example'") == successes
        if successes:
            assert "<del>" in page and "<ins>" in page


def test_demo_html_report(demo_run, tmp_path):
    report = demo_run / "results" / "report.html"
    result = snakemake(demo_run, "--configfile", "config/demo.yaml", "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    text = report.read_text(errors="replace")
    assert len(text) > 100_000
    for needle in ("1. Tables", "2. Plots", "3. Training curves", "4. Adversarial examples", "accuracy.png", "boolq.html"):
        assert needle in text, needle


@pytest.mark.browser
def test_demo_html_report_in_a_browser(demo_run, tmp_path):
    """What a reader sees: every table, plot and example page renders in headless Chromium."""
    sys.path.insert(0, str(REPO / "scripts"))
    import report_screenshots as shots

    chromium = shots.find_chromium()
    try:
        import playwright  # noqa: F401
    except ImportError:
        chromium = None
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI must check the report in a browser: install chromium and the browser extra")
        pytest.skip("needs Chromium and playwright (pip install -e '.[browser]')")
    report = demo_run / "results" / "report.html"
    if not report.exists():
        assert snakemake(demo_run, "--configfile", "config/demo.yaml", "--report", str(report)).returncode == 0
    seen = shots.capture(report, tmp_path / "shots", chromium)
    tables = seen["1. Tables / clean and robust accuracy"]
    assert "Robust acc. (textfooler)" in tables and "tiny-roberta" in tables and "±" in tables
    assert "mvp - mlp_ft" in seen["1. Tables / headline comparisons"]
    assert "roberta-base" in seen["1. Tables / ours vs published"]
    for key in ("2. Plots / clean vs robust accuracy", "3. Training curves / boolq"):
        assert "[png images: 1]" in seen[key], key
    assert "Adversarial examples: boolq" in seen["4. Adversarial examples / boolq"]
    assert len(list((tmp_path / "shots").glob("*.png"))) == len(seen)


def test_finished_demo_plans_nothing(demo_run):
    result = snakemake(demo_run, "-n", "--cores", "1", "--configfile", "config/demo.yaml")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr
