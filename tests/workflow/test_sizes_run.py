"""Training-set sizes: a dimension of every run, the sample-efficiency outputs, and a size too large for the split."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import checkout, copy_run, edited_config, final_rules_reading, planned_jobs, RUN_RULES, snakemake

pytestmark = pytest.mark.workflow


def _small_sizes(c):
    c["seeds"] = [0]
    c["train_sizes"] = [8, 32, "full"]
    c["attacks"]["textfooler"]["num_examples"] = 12


@pytest.fixture(scope="module")
def sizes_run(tmp_path_factory):
    """config/sample_efficiency_demo.yaml, one seed and three sizes."""
    repo = checkout(tmp_path_factory.mktemp("sizes") / "repo")
    path = edited_config(repo, _small_sizes, "config/sample_efficiency_demo.yaml")
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return repo, path


def test_training_set_sizes_run_end_to_end(sizes_run):
    repo, path = sizes_run
    runs = repo / "results" / "runs" / "sst2" / "tiny-roberta"
    for method in ("mlp_ft", "mvp"):
        examples = {z: json.loads((runs / method / f"size-{z}" / "seed-0" / "metrics.json").read_text())["train_examples"] for z in ("8", "32", "full")}
        assert examples == {"8": 8, "32": 32, "full": 380}
        assert sorted(p.name for p in (runs / method).iterdir()) == ["size-32", "size-8", "size-full"]
    table = pd.read_csv(repo / "results" / "tables" / "main.csv", dtype={"train_size": str})
    assert list(zip(table.train_size, table.method)) == [(z, m) for z in ("8", "32", "full") for m in ("mlp_ft", "mvp")]
    assert "| sst2 | 32 | tiny-roberta | mvp |" in (repo / "results" / "tables" / "main.md").read_text()
    smallest = pd.read_csv(repo / "results" / "tables" / "sample_efficiency" / "sst2.csv")
    assert set(smallest.method) == {"mlp_ft", "mvp"} and set(smallest.clean_accuracy_target) == {60, 70, 80, 90}
    assert set(smallest.train_examples.dropna()) <= {8, 32, 380}
    assert (repo / "results" / "plots" / "sample_efficiency" / "sst2.png").stat().st_size > 0
    assert "(size 32)" in (repo / "results" / "tables" / "comparisons.md").read_text()
    report = repo / "results" / "report.html"
    assert snakemake(repo, "--configfile", path, "--report", str(report)).returncode == 0
    text = report.read_text(errors="replace")
    assert "sample efficiency" in text and "smallest training set per accuracy" in text


def test_adding_a_size_plans_only_that_sizes_jobs(sizes_run):
    repo, _ = sizes_run

    def more(c):
        _small_sizes(c)
        c["train_sizes"] = [8, 16, 32, "full"]

    jobs = planned_jobs(repo, edited_config(repo, more, "config/sample_efficiency_demo.yaml"))
    per_run = {(r, w) for r, w in jobs if r in RUN_RULES}
    assert {r for r, _ in per_run} == {"train", "evaluate", "attack", "merge_attack"}
    assert all("size=16," in w for _, w in per_run), per_run
    assert len([1 for r, _ in per_run if r == "train"]) == 2  # two methods, one seed
    path = "config/edited.yaml"
    assert {r for r, _ in jobs} - set(RUN_RULES) == final_rules_reading(repo, path, "train", lambda s: s.get("train_size") == 16)
    assert "sample_efficiency" in {r for r, _ in jobs}


def test_a_size_larger_than_the_split_stops_its_train_job(sizes_run, tmp_path):
    repo = copy_run(sizes_run[0], tmp_path / "repo")

    def too_large(c):
        _small_sizes(c)
        c["train_sizes"] = [8, 5000]

    path = edited_config(repo, too_large, "config/sample_efficiency_demo.yaml")
    result = snakemake(repo, "--cores", "2", "--configfile", path)
    assert result.returncode != 0
    log = (repo / "logs" / "train" / "sst2" / "tiny-roberta" / "mvp" / "size-5000" / "seed-0.log").read_text()
    assert "datasets.sst2: train_sizes entry 5000 is larger than its training split (380 examples)" in log
    assert not (repo / "results" / "runs" / "sst2" / "tiny-roberta" / "mvp" / "size-5000").exists()
