"""Training-set size as a dimension: nested class-balanced subsets, specs, tables, figure."""

from __future__ import annotations

import copy
from collections import Counter

import pandas as pd
import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mvprepro import plan as planner
from mvprepro.aggregate.aggregate import markdown, summarise
from mvprepro.data.subsets import SizeError, balanced_order, parse_label, resolve, size_label, subset_indices
from mvprepro.report.sample_efficiency import curve_points, smallest_sizes
from helpers import REPO

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def _labels(counts: dict[int, int]) -> list[int]:
    labels = [y for y, n in counts.items() for _ in range(n)]
    return [labels[(7 * i) % len(labels)] for i in range(len(labels))]  # interleaved, not sorted


def test_subsets_are_nested():
    labels = _labels({0: 300, 1: 200, 2: 100})
    sizes = [8, 16, 64, 256, 600]
    subsets = [set(subset_indices(labels, n, seed=0, dataset="d")) for n in sizes]
    for small, large in zip(subsets, subsets[1:]):
        assert small < large
    assert [len(s) for s in subsets] == sizes
    # Another seed draws other subsets, nested as well.
    assert set(subset_indices(labels, 64, seed=1, dataset="d")) != subsets[2]


def test_subsets_are_class_balanced_while_every_class_lasts():
    labels = _labels({0: 300, 1: 200, 2: 20})
    for n in (3, 9, 30, 60):
        counts = Counter(labels[i] for i in subset_indices(labels, n, seed=0, dataset="d"))
        assert max(counts.values()) - min(counts.values()) <= 1, (n, counts)
    # Class 2 runs out at 20: the others continue in turn.
    counts = Counter(labels[i] for i in subset_indices(labels, 100, seed=0, dataset="d"))
    assert counts == {2: 20, 0: 40, 1: 40}
    assert sorted(balanced_order(labels, 0)) == list(range(len(labels)))


def test_sizes_resolve_counts_fractions_and_full():
    assert resolve(64, 100, "d") == 64 and resolve(0.25, 100, "d") == 25 and resolve("full", 100, "d") == 100
    with pytest.raises(SizeError, match=r"datasets.sst2: train_sizes entry 1024 is larger than its training split \(380 examples\)"):
        resolve(1024, 380, "sst2")
    for size in (16, 0.1, "full"):
        assert parse_label(size_label(size)) == size


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.chdir(REPO)
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    validate(config, SCHEMA)
    return config


def test_without_sizes_runs_train_on_the_full_split(demo):
    plan = planner.Plan(demo)
    assert {r["size"] for r in plan.runs()} == {"full"}  # a path level like any other
    assert "train_size" not in plan.train("sst2", "tiny-roberta", "mvp", 0)
    # The tables gain a size column only where the config sets train_sizes.
    assert plan.sized_datasets() == [] and "sizes" not in plan.aggregate()
    assert all("size" not in r for r in plan.aggregate()["runs"])


def test_the_full_size_is_the_same_run_with_or_without_train_sizes(demo):
    whole = planner.Plan(demo).train("sst2", "tiny-roberta", "mvp", 0)
    demo["train_sizes"] = [16, "full"]
    plan = planner.Plan(demo)
    assert plan.train("sst2", "tiny-roberta", "mvp", 0, "full") == whole
    assert plan.train("sst2", "tiny-roberta", "mvp", 0, "16") != whole


def test_sizes_are_a_dimension_of_every_run(demo):
    demo["train_sizes"] = [16, 64, "full"]
    demo["datasets"]["boolq"]["train_sizes"] = [0.5, "full"]
    validate(demo, SCHEMA)
    plan = planner.Plan(demo)
    assert plan.sizes("sst2") == ["16", "64", "full"] and plan.sizes("boolq") == ["0.5", "full"]
    assert len(plan.runs()) == (3 + 3 + 2) * 4 * 2  # sizes x methods x seeds
    train = plan.train("sst2", "tiny-roberta", "mvp", 0, "64")
    assert (train["train_size"], train["subset_seed"]) == (64, 0)
    assert plan.train("boolq", "tiny-roberta", "mvp", 0, "0.5")["train_size"] == 0.5
    # Each size is its own job, and the jobs downstream follow their own size only.
    assert plan.train("sst2", "tiny-roberta", "mvp", 0, "16") != train
    assert plan.evaluate("sst2", "tiny-roberta", "mvp", 0, size="16") != plan.evaluate("sst2", "tiny-roberta", "mvp", 0, size="64")
    assert plan.sized_datasets() == ["sst2", "ag_news", "boolq"]


@pytest.mark.parametrize("sizes", [[0], [1.5], ["all"], [16, 16], []])
def test_bad_sizes_are_schema_errors(demo, sizes):
    demo["train_sizes"] = sizes
    with pytest.raises(WorkflowError):
        validate(demo, SCHEMA)


def test_sizes_on_an_evaluate_only_dataset_are_an_error(monkeypatch):
    monkeypatch.chdir(REPO)
    config = yaml.safe_load((REPO / "config" / "own_dataset.yaml").read_text())
    config["datasets"]["stars"]["train_sizes"] = [8]
    validate(config, SCHEMA)
    with pytest.raises(planner.ConfigError, match="datasets.stars.train_sizes: an evaluate_only dataset is never trained on"):
        planner.check(config)


def _long() -> pd.DataFrame:
    rows = []
    accuracy = {("a", "8"): 50, ("a", "64"): 72, ("a", "full"): 91, ("b", "8"): 61, ("b", "64"): 83, ("b", "full"): 92}
    for (method, size), acc in accuracy.items():
        for seed in (0, 1, 2):
            base = {"dataset": "d", "train_size": size, "backbone": "bb", "method": method, "seed": seed, "evaluated_on": "d"}
            rows.append({**base, "metric": "clean_accuracy", "attack": "", "value": acc + seed - 1, "num_examples": 10})
            rows.append({**base, "metric": "robust_accuracy", "attack": "tf", "value": acc / 2, "num_examples": 5})
    return pd.DataFrame(rows)


def test_table_gains_a_size_column_in_configured_order():
    long = _long().iloc[::-1]  # any order in, the configured order out
    table = summarise(long, ["d"], ["a", "b"], ["tf"], sizes={"d": ["8", "64", "full"]})
    assert list(zip(table.train_size, table.method)) == [("8", "a"), ("8", "b"), ("64", "a"), ("64", "b"), ("full", "a"), ("full", "b")]
    # The best robust accuracy is marked per size.
    assert list(table.tf_best) == [False, True, False, True, False, True]
    assert "| Dataset | Train size | Backbone | Method |" in markdown(table, ["tf"])


def test_smallest_size_per_accuracy_target():
    points = curve_points(_long(), {"8": 8, "64": 64, "full": 380}, ["tf"])
    clean = points[(points.metric == "clean") & (points.method == "a") & (points.train_size == "64")].iloc[0]
    assert (clean["mean"], clean.num_seeds, clean.train_examples) == (72, 3, 64)
    assert clean.ci95_low < 72 < clean.ci95_high
    table = smallest_sizes(points, ["a", "b"], [60, 80, 95]).set_index(["method", "clean_accuracy_target"])
    assert table.loc[("a", 60.0), "train_examples"] == 64 and table.loc[("b", 60.0), "train_examples"] == 8
    assert table.loc[("a", 80.0), "smallest_size"] == "full" and table.loc[("b", 80.0), "train_examples"] == 64
    assert pd.isna(table.loc[("a", 95.0), "train_examples"])


def test_the_shipped_sample_efficiency_configs_are_valid(monkeypatch):
    monkeypatch.chdir(REPO)
    for name in ("config/sample_efficiency.yaml", "config/sample_efficiency_demo.yaml"):
        config = yaml.safe_load((REPO / name).read_text())
        validate(config, SCHEMA)
        planner.check(config)
        plan = planner.Plan(copy.deepcopy(config))
        assert plan.sized_datasets() == list(config["datasets"])
