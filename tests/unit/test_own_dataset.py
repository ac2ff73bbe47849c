"""Any text-classification dataset by config: inline tasks, local files, evaluate_on targets.

The paper's presets must prepare exactly what they prepared before tasks could be declared
inline: the hashes below were taken from the code of the previous release on the demo data.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from datasets import Dataset, DatasetDict

from mvprepro import plan as planner
from mvprepro.aggregate.aggregate import markdown, summarise
from mvprepro.data.tasks import PRESETS, ProtocolError, Task, TaskError, from_config, get_task, prepare_splits
from mvprepro.download.builders import build_dataset
from mvprepro.download.datasets import fetch_dataset, load_local_dataset
from mvprepro.download.sources import SourceError
from mvprepro.report.effective_robustness import effective_robustness_table
from mvprepro.train.predict import model_labels
from helpers import REPO



def _hash(ds: Dataset) -> str:
    payload = {"features": ds.features.to_dict(), "rows": ds.to_list()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# (preset, builder, protocol) -> split -> (size, content hash), from the previous release.
PINNED = {
    ("sst2", "demo_sst2", "{}"): {"train": (380, "59320f60b0d206ed"), "validation": (20, "0e23a71688c2e28c"), "test": (24, "4805b96066795c18")},
    ("ag_news", "demo_ag_news", "{}"): {"train": (380, "fc3894cdba5ef2e0"), "validation": (20, "a8a56efef3383e2c"), "test": (24, "68b0ca42f1ba41b1")},
    ("boolq", "demo_boolq", '{"train_fraction": 0.95}'): {"train": (380, "4853c9292c5af0a2"), "validation": (24, "5ed70867592def4b"), "test": (24, "a0ac12f5738728ce")},
    ("boolq", "demo_boolq", '{"train_fraction": 1.0}'): {"train": (400, "5a79bed49142273e"), "validation": (24, "5ed70867592def4b"), "test": (24, "a0ac12f5738728ce")},
}


@pytest.mark.parametrize("key", list(PINNED), ids=lambda k: f"{k[0]}-{k[2]}")
def test_presets_prepare_the_same_splits_as_before(key):
    task, builder, protocol = key
    out = prepare_splits(task, build_dataset(builder, train_size=400, eval_size=24), json.loads(protocol))
    assert {k: (len(v), _hash(v)) for k, v in out.items()} == PINNED[key]


def test_sst2_letterless_rule_unchanged():
    rows = [{"sentence": f"A Fine Movie {i}" if i % 10 else "...", "label": i % 2, "idx": i} for i in range(100)]
    val = [{"sentence": f"Great Film {i}", "label": i % 2, "idx": i} for i in range(20)]
    raw = DatasetDict({"train": Dataset.from_list(rows), "validation": Dataset.from_list(val)})
    out = prepare_splits("sst2", raw, {"split_seed": 3})
    assert {k: (len(v), _hash(v)) for k, v in out.items()} == {
        "train": (85, "af42f159a7ec91d0"),
        "validation": (5, "97194e55a5e1aaf9"),
        "test": (20, "3d1125a731460d4f"),
    }


def test_ag_news_declared_inline_prepares_what_the_preset_does():
    """config/ag_news_inline.yaml's declaration is the preset's, split for split."""
    entry = yaml.safe_load((REPO / "config" / "ag_news_inline.yaml").read_text())["datasets"]["ag_news"]
    inline = from_config("ag_news", entry["task"])
    raw = build_dataset("demo_ag_news", train_size=400, eval_size=24)
    a, b = prepare_splits(inline, raw, entry["protocol"]), prepare_splits("ag_news", raw, entry["protocol"])
    assert {k: _hash(v) for k, v in a.items()} == {k: _hash(v) for k, v in b.items()}
    assert inline.label_names == PRESETS["ag_news"].label_names


# ---------------------------------------------------------------- declaring a task


def test_inline_task_round_trips_through_a_spec():
    task = from_config("claims", {"text": ["evidence", "claim"], "labels": ["no", "yes"], "label_map": {True: "yes", False: 0}, "protected": "claim"})
    assert task.label_map == {"true": 1, "false": 0}
    assert Task.from_spec(json.loads(json.dumps(task.to_spec()))) == task
    assert get_task(task.to_spec()) == task and get_task("sst2") is PRESETS["sst2"]


@pytest.mark.parametrize(
    "value,message",
    [
        ("mnli", "datasets.d.task: 'mnli' is not a preset"),
        ({"text": ["a", "b", "c"], "labels": ["x", "y"]}, "datasets.d.task.text: one text column, or a list of two"),
        ({"text": "a", "labels": ["x"]}, "datasets.d.task.labels: a list of at least two class names"),
        ({"text": "a", "labels": ["x", "x"]}, "class names must be distinct"),
        ({"text": "a", "labels": ["x", "y"], "label_map": {"3": "z"}}, "datasets.d.task.label_map: '3' maps to 'z'"),
        ({"text": ["a", "b"], "labels": ["x", "y"], "protected": ["c"]}, "datasets.d.task.protected: 'c' is not a text column"),
        ({"text": "a", "labels": ["x", "y"], "protected": ["a"]}, "every text column is protected"),
        ({"text": "a", "labels": ["x", "y"], "filter": "short"}, "datasets.d.task.filter: 'short' is not one of"),
        ({"text": "a", "labels": ["x", "y"], "splits": {"dev": "d"}}, "datasets.d.task.splits: unknown keys ['dev']"),
        ({"text": "a", "labels": ["x", "y"], "colour": 1}, "datasets.d.task.colour: unknown key"),
        ({"text": "a", "label": "a", "labels": ["x", "y"]}, "datasets.d.task.label: the label column must be"),
    ],
)
def test_task_declaration_errors_name_the_key(value, message):
    with pytest.raises(TaskError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_config("d", value)


def _raw(**splits: list[dict]) -> DatasetDict:
    return DatasetDict({k: Dataset.from_list(v) for k, v in splits.items()})


def _reviews(n: int, labels=("neg", "mid", "pos")) -> list[dict]:
    return [{"Review": f"Review Number {i}", "sentiment": labels[i % 3]} for i in range(n)]


def test_string_labels_become_class_ids_and_a_named_validation_split_is_used():
    task = from_config("r", {"text": "Review", "label": "sentiment", "labels": ["neg", "mid", "pos"], "splits": {"validation": "dev"}})
    out = prepare_splits(task, _raw(train=_reviews(30), dev=_reviews(6), test=_reviews(9)), {"train_fraction": 1.0})
    assert {k: len(v) for k, v in out.items()} == {"train": 30, "validation": 6, "test": 9}
    assert out["test"].column_names == ["Review", "label"]
    assert list(out["test"]["label"]) == [0, 1, 2] * 3
    assert out["test"]["Review"][0] == "review number 0"


def test_validation_is_carved_from_train_when_the_source_has_none():
    task = from_config("r", {"text": "Review", "label": "sentiment", "labels": ["neg", "mid", "pos"]})
    out = prepare_splits(task, _raw(train=_reviews(100), test=_reviews(9)), {"validation_fraction": 0.1, "train_fraction": 0.9, "split_seed": 1})
    assert (len(out["train"]), len(out["validation"])) == (90, 10)
    assert not set(out["train"]["Review"]) & set(out["validation"]["Review"])


def test_a_label_outside_the_declared_names_is_an_error_naming_the_key():
    task = from_config("r", {"text": "Review", "label": "sentiment", "labels": ["neg", "pos"]})
    with pytest.raises(ProtocolError, match=r"label 'mid', which is not one of labels \['neg', 'pos'\]; add it to datasets.r.task.labels"):
        prepare_splits(task, _raw(train=_reviews(30), test=_reviews(9)), {})


def test_a_missing_column_names_the_keys_that_fix_it():
    task = from_config("r", {"text": "review", "label": "sentiment", "labels": ["neg", "mid", "pos"]})
    with pytest.raises(ProtocolError, match=r"lacks columns \['review'\].*datasets.r.task.text / .label, or rename columns with datasets.r.source.rename"):
        prepare_splits(task, _raw(train=_reviews(30), test=_reviews(9)), {})
    with pytest.raises(ProtocolError, match=r"no 'test' split .*set datasets.r.task.splits"):
        prepare_splits(from_config("r", {"text": "Review", "label": "sentiment", "labels": ["neg", "mid", "pos"]}), _raw(train=_reviews(30)), {})


def test_label_map_reads_numbers_and_booleans_and_must_cover_every_value():
    stars = from_config("s", {"text": "t", "label": "stars", "labels": ["neg", "pos"], "label_map": {1: "neg", 2: 0, 4: "pos", 5: 1}})
    rows = [{"t": f"text {i}", "stars": s} for i, s in enumerate([1, 2, 4, 5] * 5)]
    out = prepare_splits(stars, _raw(test=rows), {}, test_only=True)
    assert list(out) == ["test"] and list(out["test"]["label"])[:4] == [0, 0, 1, 1]
    with pytest.raises(ProtocolError, match=r"datasets.s.task.label_map: split 'test' has label 3"):
        prepare_splits(stars, _raw(test=rows + [{"t": "x", "stars": 3}]), {}, test_only=True)
    booleans = from_config("b", {"text": "t", "label": "ok", "labels": ["no", "yes"]})
    out = prepare_splits(booleans, _raw(test=[{"t": "a", "ok": True}, {"t": "b", "ok": False}]), {}, test_only=True)
    assert list(out["test"]["label"]) == [1, 0]


def test_pair_task_with_filter_and_without_lowercasing():
    task = from_config(
        "p", {"text": ["Evidence", "Claim"], "label": "y", "labels": ["a", "b"], "protected": ["Claim"], "filter": "has_letter", "lowercase": False}
    )
    rows = [{"Evidence": f"Some Evidence {i}" if i % 5 else "123", "Claim": "A Claim", "y": i % 2} for i in range(40)]
    out = prepare_splits(task, _raw(train=rows, test=rows[:10]), {"train_fraction": 0.9, "validation_fraction": 0.1})
    assert out["test"].column_names == ["Evidence", "Claim", "label"]
    assert len(out["test"]) == 8  # two of the ten have no letter in the evidence
    assert out["test"]["Evidence"][0] == "Some Evidence 1"


def test_an_empty_text_cell_is_an_error():
    task = from_config("r", {"text": "t", "labels": ["a", "b"]})
    with pytest.raises(ProtocolError, match=r"datasets.r.task.text: column 't' of split 'test' is empty in 1 rows"):
        prepare_splits(task, _raw(test=[{"t": None, "label": 0}, {"t": "x", "label": 1}]), {}, test_only=True)


def test_model_labels_follow_the_class_map():
    assert model_labels({}, [0, 1, 2]) == [0, 1, 2]
    assert model_labels({"class_map": [2, 0, 1]}, [0, 1, 2]) == [2, 0, 1]


# ---------------------------------------------------------------- local files


def test_local_formats_tsv_csv_jsonl_and_renames(tmp_path):
    tsv = tmp_path / "tsv"
    tsv.mkdir()
    (tsv / "train.tsv").write_text("sentence, with comma\tlab\nhello, world\tx\nbye\ty\n")
    (tsv / "test.tsv").write_text("sentence, with comma\tlab\nagain\tx\n")
    raw = load_local_dataset(tsv)
    assert raw["train"]["sentence, with comma"] == ["hello, world", "bye"]
    fetch_dataset({"local": True, "rename": {"sentence, with comma": "text", "lab": "label"}}, tmp_path / "out", "d", local=tsv)
    saved = DatasetDict.load_from_disk(str(tmp_path / "out" / "data"))
    assert saved["test"].column_names == ["text", "label"]
    with pytest.raises(SourceError, match=r"datasets.d.source.rename: no split has columns \['nope'\]"):
        fetch_dataset({"local": True, "rename": {"nope": "text"}}, tmp_path / "out2", "d", local=tsv)
    assert not (tmp_path / "out2").exists()  # nothing half-written
    (tsv / "dev.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="mixes .csv and .tsv files"):
        load_local_dataset(tsv)


def test_the_example_files_are_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("make_example_data", REPO / "scripts" / "make_example_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for rel, text in module.example_files().items():
        assert (REPO / "examples" / "own_dataset" / rel).read_text() == text, rel


# ---------------------------------------------------------------- config checks


@pytest.fixture
def own(monkeypatch):
    monkeypatch.chdir(REPO)
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config" / "own_dataset.yaml").read_text())
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def _error(config: dict) -> str:
    with pytest.raises(planner.ConfigError) as err:
        planner.check(config)
    return str(err.value)


def test_the_example_config_is_valid_and_plans_its_runs(own):
    planner.check(own)
    plan = planner.Plan(own)
    # Inline tasks come in name order (the config's key order never matters).
    assert plan.datasets == ["claims", "reviews"] and plan.all_datasets == ["claims", "reviews", "stars"]
    assert {r["dataset"] for r in plan.runs()} == {"reviews", "claims"}
    assert [(r["dataset"], r["target"]) for r in plan.evaluations(own=False)] == [("reviews", "stars")] * 2
    assert [(r["dataset"], r["target"]) for r in plan.evaluations()] == [("claims", "claims")] * 2 + [("reviews", "reviews"), ("reviews", "stars")] * 2
    # On its own dataset (the default target) an evaluation's spec names no target.
    assert plan.attack("reviews", "tiny-roberta", "mvp", 0, "textfooler", 0, "reviews") == plan.attack("reviews", "tiny-roberta", "mvp", 0, "textfooler", 0)
    attack = plan.attack("reviews", "tiny-roberta", "mvp", 0, "textfooler", 0, "stars")
    assert attack["task"]["name"] == "stars" and attack["target"] == "stars" and attack["class_map"] is None
    assert "target" not in plan.attack("reviews", "tiny-roberta", "mvp", 0, "textfooler", 0)
    assert plan.prepare("stars")["evaluate_only"] is True and "evaluate_only" not in plan.prepare("reviews")
    assert plan.train("claims", "tiny-roberta", "mvp", 0)["num_labels"] == 2


def test_verbalizer_must_have_one_entry_per_declared_class(own):
    own["datasets"]["reviews"]["task"]["labels"] = ["negative", "positive"]
    assert "the verbalizer has 3 classes but datasets.reviews.task has 2 (negative, positive)" in _error(own)


def test_a_prompt_method_needs_prompts_on_a_trained_dataset(own):
    del own["datasets"]["claims"]["prompts"]
    assert "datasets.claims.prompts: prompt method 'mvp' trains on claims, which has no prompts file" in _error(own)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda c: c["datasets"]["reviews"].update(evaluate_on=["imdb"]), "datasets.reviews.evaluate_on.imdb: 'imdb' is not defined in datasets"),
        (lambda c: c["datasets"]["reviews"].update(evaluate_on=[]), "datasets.stars.evaluate_only: no trained dataset lists 'stars' in evaluate_on"),
        (lambda c: c["datasets"]["reviews"].update(evaluate_on=["claims", "stars"]), "datasets.reviews.evaluate_on.claims: claims has 2 text columns, reviews has 1"),
        (
            lambda c: c["datasets"]["stars"]["task"].update(labels=["bad", "ok", "good"], label_map={1: "bad", 2: "bad", 3: "ok", 4: "good", 5: "good"}),
            "datasets.reviews.evaluate_on.stars: classes ['bad', 'ok', 'good'] differ from reviews's ['negative', 'neutral', 'positive']; add a label_map",
        ),
        (
            lambda c: c["datasets"]["reviews"].update(evaluate_on=[{"dataset": "stars", "label_map": {"negative": "negative"}}]),
            "datasets.reviews.evaluate_on.stars.label_map: no class of reviews given for stars's classes ['neutral', 'positive']",
        ),
        (lambda c: c["datasets"]["stars"].update(evaluate_on=["reviews"]), "datasets.stars.evaluate_on: an evaluate_only dataset trains no model"),
        (lambda c: c["attacks"]["textfooler"].update(max_words_perturbed={"default": 0.2, "revews": 0.3}), "'revews' is not a task"),
        (lambda c: c["backbones"]["tiny-roberta"]["source"].update(rename={"a": "b"}), "backbones.tiny-roberta.source.rename: only dataset sources"),
    ],
)
def test_evaluate_on_and_naming_errors(own, mutate, message):
    mutate(own)
    assert message in _error(own)


def test_classes_are_matched_by_name_or_by_label_map(own):
    own["datasets"]["stars"]["task"]["labels"] = ["positive", "neutral", "negative"]
    own["datasets"]["stars"]["task"]["label_map"] = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}
    assert planner.Plan(own).evaluate("reviews", "tiny-roberta", "mvp", 0, "stars")["class_map"] == [2, 1, 0]
    own["datasets"]["stars"]["task"]["labels"] = ["good", "ok", "bad"]
    own["datasets"]["stars"]["task"]["label_map"] = {1: "bad", 2: "bad", 3: "ok", 4: "good", 5: "good"}
    own["datasets"]["reviews"]["evaluate_on"] = [{"dataset": "stars", "label_map": {"good": "positive", 1: 1, "bad": 0}}]
    assert planner.Plan(own).evaluate("reviews", "tiny-roberta", "mvp", 0, "stars")["class_map"] == [2, 1, 0]
    config = copy.deepcopy(own)
    config["attacks"]["textfooler"]["max_words_perturbed"] = {"default": 0.2, "reviews": 0.3}
    planner.check(config)  # an inline task's dataset name keys its share


# ---------------------------------------------------------------- tables and report


def _long() -> pd.DataFrame:
    rows = []
    for method, (id_acc, ood_acc) in {"a": (90, 70), "b": (80, 60), "c": (85, 75)}.items():
        for seed in (0, 1):
            for on, acc in (("d", id_acc), ("t", ood_acc)):
                rows.append({"dataset": "d", "backbone": "bb", "method": method, "seed": seed, "evaluated_on": on,
                             "metric": "clean_accuracy", "attack": "", "value": acc + seed, "num_examples": 10})
                rows.append({"dataset": "d", "backbone": "bb", "method": method, "seed": seed, "evaluated_on": on,
                             "metric": "robust_accuracy", "attack": "tf", "value": acc / 2, "num_examples": 5})
    return pd.DataFrame(rows)


def test_table_gains_ood_columns_only_with_targets():
    long = _long()
    table = summarise(long, ["d"], ["a", "b", "c"], ["tf"], {"d": ["t"]})
    row = table.set_index("method").loc["a"]
    assert (row.clean_mean, row.ood_t_clean_mean, row.ood_t_tf_robust_mean) == (90.5, 70.5, 35.0)
    assert "| OOD t: clean | OOD t: tf |" in markdown(table, ["tf"])
    plain = summarise(long[long.evaluated_on == "d"], ["d"], ["a", "b", "c"], ["tf"])
    assert not [c for c in plain.columns if c.startswith("ood_")]
    assert "OOD" not in markdown(plain, ["tf"])


def test_effective_robustness_is_the_residual_from_the_other_methods_line():
    spec = {"datasets": ["d"], "targets": {"d": ["t"]}, "methods": ["a", "b", "c"], "attacks": ["tf"]}
    table = effective_robustness_table(_long(), spec)
    clean = table[table.metric == "clean"].set_index("method")
    # a and b lie on ood = id - 20; c (85.5 -> 75.5) sits 10 points above that line.
    assert clean.loc["c", "expected_from_others"] == pytest.approx(65.5)
    assert clean.loc["c", "effective_robustness"] == pytest.approx(10.0)
    # Against the line through b and c (ood = 3 id - 181), a sits 20 points below; against
    # the line through a and c (ood = 161 - id), b does too.
    assert clean.loc["a", "effective_robustness"] == pytest.approx(-20.0)
    assert clean.loc["b", "effective_robustness"] == pytest.approx(-20.0)
    two = effective_robustness_table(_long()[lambda x: x.method != "c"], {**spec, "methods": ["a", "b"]})
    assert np.isnan(two.effective_robustness).all()  # one other method fixes no line
