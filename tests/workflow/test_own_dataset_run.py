"""Your own datasets by config alone: local files, inline tasks, a pair task and an evaluate_on target."""

from __future__ import annotations

import json
import signal

import pandas as pd
import pytest

from helpers import assert_results_describe_config, copy_run, edited_config, final_rules_reading, planned_jobs, snakemake, start_and_kill

pytestmark = pytest.mark.workflow


def test_own_datasets_run_end_to_end_by_config_alone(own_run):
    tables = own_run / "results" / "tables"
    table = pd.read_csv(tables / "main.csv")
    assert sorted(zip(table.dataset, table.method)) == sorted((d, m) for d in ("reviews", "claims") for m in ("mlp_ft", "mvp"))
    assert table.clean_mean.between(0, 100).all() and table.textfooler_robust_mean.between(0, 100).all()
    # The reviews models, also evaluated and attacked on stars: both in the table.
    reviews = table[table.dataset == "reviews"]
    assert reviews.ood_stars_clean_mean.between(0, 100).all()
    assert reviews.ood_stars_textfooler_robust_mean.between(0, 100).all()
    assert table[table.dataset == "claims"].ood_stars_clean_mean.isna().all()
    md = (tables / "main.md").read_text()
    assert "| Clean acc. | Robust acc. (textfooler) | OOD stars: clean | OOD stars: textfooler |" in md
    runs = pd.read_csv(tables / "runs.csv")
    on_stars = runs[runs.evaluated_on == "stars"]
    assert set(on_stars.dataset) == {"reviews"} and set(on_stars.num_examples[on_stars.metric == "clean_accuracy"]) == {30}
    clean = json.loads((own_run / "results/runs/reviews/tiny-roberta/mvp/size-full/seed-0/eval-stars/clean.json").read_text())
    assert clean["spec"]["target"] == "stars" and clean["num_examples"] == 30
    effective = pd.read_csv(tables / "effective_robustness.csv")
    assert set(effective.metric) == {"clean", "robust (textfooler)"} and set(effective.method) == {"mlp_ft", "mvp"}
    assert (own_run / "results" / "plots" / "effective_robustness.png").stat().st_size > 0
    costs = pd.read_csv(tables / "costs.csv")
    assert ((costs.rule == "attack") & (costs.target == "stars")).sum() == 2
    # Only the test split of an evaluate_only dataset is prepared.
    assert json.loads((own_run / "results/data/stars/stats.json").read_text())["sizes"] == {"test": 30}


def test_own_pair_task_never_changes_its_protected_column(own_run):
    records = []
    for path in (own_run / "results" / "runs" / "claims").glob("*/*/size-full/seed-0/eval-claims/attacks/textfooler.records.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    successes = [r for r in records if r["result"] == "successful"]
    assert successes, "no successful attack on the pair task: nothing shows the constraint held"
    for r in successes:
        assert set(r["original_text"]) == {"evidence", "claim"}
        assert r["perturbed_text"]["claim"] == r["original_text"]["claim"]
        assert r["perturbed_text"]["evidence"] != r["original_text"]["evidence"]
    summary = json.loads((own_run / "results/runs/claims/tiny-roberta/mvp/size-full/seed-0/eval-claims/attacks/textfooler.json").read_text())
    assert any(c["constraint"] == "input_column_modification" and c["status"] == "enabled" for c in summary["constraints"])


def test_editing_an_evaluate_on_target_reruns_only_its_evaluations(own_run):
    def edit(c):
        c["datasets"]["stars"]["task"]["label_map"][3] = "negative"

    path = edited_config(own_run, edit, "config/own_dataset.yaml")
    jobs = planned_jobs(own_run, path)
    rules = {r for r, _ in jobs}
    reached = final_rules_reading(own_run, path, "prepare", lambda s: s["dataset"] == "stars")
    assert rules == {"prepare", "tokenize", "evaluate", "attack", "merge_attack", *reached}, rules
    assert "effective_robustness" in rules and "adversarial_examples" not in rules  # examples read own-dataset attacks only
    assert {w for r, w in jobs if r in ("prepare", "tokenize")} == {"dataset=stars", "dataset=stars, backbone=tiny-roberta"}
    assert all("target=stars" in w for r, w in jobs if r in ("evaluate", "attack", "merge_attack"))


def test_adding_an_evaluate_on_target_plans_only_that_target(own_run):
    def edit(c):
        c["datasets"]["claims"]["evaluate_on"] = ["claims_again"]
        c["datasets"]["claims_again"] = {**c["datasets"]["claims"], "evaluate_only": True}
        del c["datasets"]["claims_again"]["evaluate_on"]

    path = edited_config(own_run, edit, "config/own_dataset.yaml")
    jobs = planned_jobs(own_run, path)
    per_run = {r for r, _ in jobs} - final_rules_reading(own_run, path, "download_dataset", lambda s: s["name"] == "claims_again")
    assert per_run == {"download_dataset", "prepare", "tokenize", "evaluate", "attack", "merge_attack"}, per_run
    assert all("claims_again" in w for r, w in jobs if r in per_run)


def test_interrupted_ood_rerun_then_edited_again_leaves_no_stale_result(own_run, tmp_path, monkeypatch):
    """Edit the evaluate_on target's labels, Ctrl-C the run in its first OOD attack, edit
    the config again (the attack budget), run: every in- and out-of-distribution result
    records exactly what the final config gives its job."""
    repo = copy_run(own_run, tmp_path / "repo")

    def relabel(c):
        c["datasets"]["stars"]["task"]["label_map"][3] = "negative"

    path = edited_config(repo, relabel, "config/own_dataset.yaml")
    shard = "results/runs/reviews/tiny-roberta/mlp_ft/size-full/seed-0/eval-stars/attacks/textfooler/shard-0.jsonl"
    start_and_kill(repo, path, lambda r: not (r / shard).exists(), sig=signal.SIGINT)
    jobs = planned_jobs(repo, path)
    killed = "dataset=reviews, backbone=tiny-roberta, method=mlp_ft, size=full, seed=0, target=stars, attack=textfooler, shard=0"
    assert ("attack", killed) in jobs
    assert "train" not in {r for r, _ in jobs}
    assert all("target=stars" in w for r, w in jobs if r in ("evaluate", "attack", "merge_attack"))

    def relabel_and_shrink(c):
        relabel(c)
        c["attacks"]["textfooler"]["num_examples"] = 10

    path = edited_config(repo, relabel_and_shrink, "config/own_dataset.yaml")
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "Nothing to be done" in snakemake(repo, "-n", "--cores", "1", "--configfile", path).stdout
    assert_results_describe_config(repo, path, monkeypatch)
    runs = pd.read_csv(repo / "results" / "tables" / "runs.csv")
    assert set(runs[runs.metric == "robust_accuracy"].num_examples) == {10}
