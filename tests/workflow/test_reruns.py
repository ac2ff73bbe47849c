"""Rerun precision on a finished demo: each change replans exactly the jobs it affects, and an interrupted rerun leaves no stale result."""

from __future__ import annotations

import json
import re
import signal

import pandas as pd
import pytest
import yaml

from helpers import SMALL, appended, assert_results_describe_config, checkout, copy_run, edited_config, final_rules_reading, load_plan, planned_counts, planned_jobs, RUN_RULES, snakemake, start_and_kill

pytestmark = pytest.mark.workflow

DEMO = "config/demo.yaml"


def test_changing_mvp_templates_reruns_only_mvp(demo_run):
    path = edited_config(demo_run, lambda c: c["methods"]["mvp"].update(templates=["[SEP] It was [MASK]"]))
    jobs = planned_jobs(demo_run, path)
    rules = {r for r, _ in jobs}
    assert rules == {*RUN_RULES, *final_rules_reading(demo_run, DEMO, "train", lambda s: s["method"]["name"] == "mvp")}
    assert {"aggregate", "training_curves", "adversarial_examples"} < rules
    assert all(re.search(r"method=mvp(,|$)", w) for r, w in jobs if r in RUN_RULES)  # not mvp_adv
    assert len([1 for r, _ in jobs if r == "train"]) == 6  # 3 datasets x 2 seeds


def test_changing_one_attack_reruns_only_that_attack(demo_run):
    path = edited_config(demo_run, lambda c: c["attacks"]["textbugger"].update(max_candidates=3))
    jobs = planned_jobs(demo_run, path)
    # Training curves read only training metrics: they stay.
    assert {r for r, _ in jobs} == {"attack", "merge_attack", *final_rules_reading(demo_run, DEMO, "attack", lambda s: s["attack_name"] == "textbugger")}
    assert "training_curves" not in {r for r, _ in jobs}
    assert all("attack=textbugger" in w for r, w in jobs if r in ("attack", "merge_attack"))
    assert len([1 for r, _ in jobs if r == "attack"]) == 24  # 3 datasets x 4 methods x 2 seeds


def test_adding_a_seed_adds_only_that_seed(demo_run):
    path = edited_config(demo_run, lambda c: c.update(seeds=[0, 1, 2]))
    jobs = planned_jobs(demo_run, path)
    assert {r for r, _ in jobs} == {"train", "evaluate", "attack", "merge_attack", *final_rules_reading(demo_run, path, "train", lambda s: s["seed"] == 2)}
    assert all("seed=2" in w for r, w in jobs if r in ("train", "evaluate", "attack", "merge_attack"))
    assert len([1 for r, _ in jobs if r == "train"]) == 12


def test_editing_published_numbers_reruns_only_the_comparison(demo_run):
    with appended(demo_run / "config" / "published.csv", "sst2,tiny-roberta,mvp,clean_accuracy,,50,a test\n"):
        jobs = planned_jobs(demo_run, "config/demo.yaml")
    assert {r for r, _ in jobs} == {"compare", "all"}


def test_changing_the_example_count_reruns_only_the_example_pages(demo_run):
    path = edited_config(demo_run, lambda c: c["report"].update(examples_per_method=2))
    jobs = planned_jobs(demo_run, path)
    assert {r for r, _ in jobs} == {"adversarial_examples", "all"}
    assert len([1 for r, _ in jobs if r == "adversarial_examples"]) == 3


def test_editing_one_sst2_template_reruns_only_sst2_mvp(demo_run):
    """The demo backbone does not depend on the prompt files: one template edit reruns one
    dataset's prompt method and the tables, nothing else (no backbone, no other dataset)."""
    prompts = demo_run / "config" / "prompts" / "sst2.yaml"
    original = prompts.read_text()
    try:
        prompts.write_text(original.replace("This is a [MASK] statement", "This was a [MASK] statement"))
        jobs = planned_jobs(demo_run, "config/demo.yaml")
    finally:
        prompts.write_text(original)
    sst2_prompts = lambda s: s["dataset"] == "sst2" and s["method"]["name"] in ("mvp", "mvp_adv")  # noqa: E731
    assert {r for r, _ in jobs} == {*RUN_RULES, *final_rules_reading(demo_run, DEMO, "train", sst2_prompts)}
    assert all("dataset=sst2" in w and re.search(r"method=mvp(_adv)?(,|$)", w) for r, w in jobs if r in RUN_RULES)
    assert {w for r, w in jobs if r in ("training_curves", "adversarial_examples")} == {"dataset=sst2"}
    assert len([1 for r, _ in jobs if r == "train"]) == 4  # mvp and mvp_adv, 2 seeds
    assert len([1 for r, _ in jobs if r == "check_prompts"]) == 2


# Each stage's code digest is the import closure of its entry module: an edit of any module
# it can import, listed nowhere by hand, reruns it (and what depends on it).
@pytest.mark.parametrize(
    "module,rules",
    [
        ("train/adversarial.py", {"train": 24, "evaluate": 24, "attack": 48}),
        ("train/probe.py", {"train": 24, "evaluate": 24, "attack": 48}),
        # The evaluate stage's module holds the stage alone: no train or attack job reruns.
        ("train/evaluate.py", {"train": 0, "evaluate": 24, "attack": 0, "aggregate": 1}),
        ("train/predict.py", {"train": 24, "evaluate": 24, "attack": 48}),
        # A tool (lock, bench, migrate-layout) is no stage's code: editing it plans nothing.
        ("tools/bench.py", {"train": 0, "evaluate": 0, "attack": 0, "aggregate": 0}),
        ("attack/recipes.py", {"train": 0, "evaluate": 0, "attack": 48}),
        ("aggregate/formats.py", {"train": 0, "attack": 0, "aggregate": 1, "compare": 1}),
    ],
)
def test_editing_any_imported_module_reruns_its_stages(demo_run, module, rules):
    with appended(demo_run / "src" / "mvprepro" / module, "\n# an edit\n"):
        jobs = planned_jobs(demo_run, "config/demo.yaml")
    for rule, count in rules.items():
        assert len([1 for r, _ in jobs if r == rule]) == count, (module, rule)
    assert not any(r in ("prepare", "tokenize", "download_dataset", "download_backbone") for r, _ in jobs)


def test_a_config_written_another_way_plans_nothing(demo_run):
    """Keys sorted (or moved), the default training size written out: the same content, so
    nothing is planned on the finished demo."""
    config = yaml.safe_load((demo_run / "config" / "demo.yaml").read_text())
    (demo_run / "config" / "sorted.yaml").write_text(yaml.safe_dump(config, sort_keys=True))
    assert planned_jobs(demo_run, "config/sorted.yaml") == set()
    path = edited_config(demo_run, lambda c: c.update(train_sizes=["full"]))
    assert planned_jobs(demo_run, path) == set()


def test_interrupted_attack_rerun_leaves_no_stale_summary(small_run, tmp_path, monkeypatch):
    """Change an attack setting, kill the first attack job mid-way, run again: every model's
    summary (and the table) describes the new setting; none keeps the old one."""
    repo = copy_run(small_run, tmp_path / "repo")
    path = edited_config(repo, lambda c: c["attacks"]["textbugger"].update(num_examples=5), SMALL)
    shard = "results/runs/sst2/tiny-roberta/mlp_ft/size-full/seed-0/eval-sst2/attacks/textbugger/shard-0.jsonl"
    # Snakemake deletes a job's old outputs when it starts it: Ctrl-C right then, while the
    # job is loading or attacking.
    start_and_kill(repo, path, lambda r: not (r / shard).exists(), sig=signal.SIGINT)
    assert not (repo / shard).exists()
    attacks = {(r, w) for r, w in planned_jobs(repo, path) if r in ("attack", "merge_attack")}
    # Without train_sizes a run trains on the whole training split: size "full".
    killed = "dataset=sst2, backbone=tiny-roberta, method=mlp_ft, size=full, seed=0, target=sst2, attack=textbugger"
    assert ("attack", killed + ", shard=0") in attacks and ("merge_attack", killed) in attacks
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    summaries = sorted((repo / "results" / "runs").glob("*/*/*/size-full/seed-*/eval-*/attacks/textbugger.json"))
    assert len(summaries) == len(load_plan(repo, path).evaluations()) == 2
    assert {json.loads(f.read_text())["num_examples"] for f in summaries} == {5}
    table = pd.read_csv(repo / "results" / "tables" / "main.csv")
    assert set(table.textbugger_num_examples) == {5}
    assert "Nothing to be done" in snakemake(repo, "-n", "--cores", "1", "--configfile", path).stdout
    assert_results_describe_config(repo, path, monkeypatch)


def test_interrupted_training_rerun_leaves_no_stale_result(small_run, tmp_path, monkeypatch):
    """Change one method's training, SIGKILL the run (and unlock, as Snakemake says) when
    one of its train jobs starts: the next dry run plans the killed job and nothing of the
    other method, and the next run leaves every result describing the new config."""
    repo = copy_run(small_run, tmp_path / "repo")
    path = edited_config(repo, lambda c: c["methods"]["mvp"].update(training={"lr": 1.0e-3}), SMALL)
    metrics = "results/runs/sst2/tiny-roberta/mvp/size-full/seed-0/metrics.json"
    # Snakemake deletes a job's old outputs when it starts it: kill the run right then.
    start_and_kill(repo, path, lambda r: not (r / metrics).exists())
    jobs = planned_jobs(repo, path)
    assert ("train", "dataset=sst2, backbone=tiny-roberta, method=mvp, size=full, seed=0") in jobs
    assert all("method=mvp" in w for r, w in jobs if r in ("train", "evaluate", "attack", "merge_attack"))
    assert ("aggregate", "") in jobs
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "Nothing to be done" in snakemake(repo, "-n", "--cores", "1", "--configfile", path).stdout
    assert_results_describe_config(repo, path, monkeypatch)


def test_editing_a_local_source_reruns_what_was_built_from_it(tmp_path):
    """A `path:` dataset and a `path:` embedding are inputs: editing the file reruns the
    jobs built from it, although the folder's modification time does not change."""
    repo = checkout(tmp_path / "repo")
    from mvprepro.download.builders import build_dataset

    local = repo / "local" / "sst2"
    local.mkdir(parents=True)
    for split, rows in build_dataset("demo_sst2", train_size=60, eval_size=12).items():
        rows.to_json(local / f"{split}.jsonl")
    vectors = repo / "local" / "vectors.txt"
    vectors.write_text("good 1 0\nfine 0.9 0.1\nbad -1 0\n")
    config = yaml.safe_load((repo / "config" / "demo.yaml").read_text())
    config["datasets"] = {"sst2": {**config["datasets"]["sst2"], "source": {"path": "local/sst2"}}}
    config["attack_resources"]["embeddings"]["counterfitted"]["source"] = {"path": "local/vectors.txt"}
    (repo / "config" / "local.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = ("results/data/sst2", "resources/attack/manifest.json")
    result = snakemake(repo, *targets, "--cores", "1", "--configfile", "config/local.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "Nothing to be done" in snakemake(repo, *targets, "-n", "--cores", "1", "--configfile", "config/local.yaml").stdout

    train = local / "train.jsonl"
    train.write_text(train.read_text().replace('"label":0', '"label":1', 1))
    vectors.write_text(vectors.read_text() + "awful -0.9 -0.1\n")
    result = snakemake(repo, *targets, "-n", "--cores", "1", "--configfile", "config/local.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    plan = planned_counts(result)
    assert plan.get("download_dataset") == 1 and plan.get("prepare") == 1
    assert plan.get("download_attack_resources") == 1
