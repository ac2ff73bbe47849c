"""Config validation: schema errors and semantic checks, each with a message naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mvprepro import config as cfg

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def _load(name: str) -> dict:
    data = yaml.safe_load((REPO / name).read_text())
    validate(data, SCHEMA)
    return data


@pytest.fixture
def demo(monkeypatch) -> dict:
    monkeypatch.chdir(REPO)  # prompt paths are relative to the repository root
    return _load("config/demo.yaml")


@pytest.mark.parametrize("name", ["config.yaml", "config/demo.yaml", "config/ablations.yaml", "config/backbones.yaml"])
def test_shipped_configs_are_valid(name, monkeypatch):
    monkeypatch.chdir(REPO)
    cfg.check(_load(name))


def test_schema_fills_defaults(demo):
    assert demo["attacks"]["textfooler"]["query_batch_size"] == 64
    assert demo["attacks"]["textbugger"]["variant"] == "paper"
    assert demo["training"]["max_eval_examples"] is None


def test_paper_grid(monkeypatch):
    monkeypatch.chdir(REPO)
    c = _load("config.yaml")
    assert list(c["datasets"]) == ["sst2", "ag_news", "boolq"]
    assert c["seeds"] == [0, 1, 2]
    assert list(c["methods"]) == ["mlp_ft", "lpft", "projectcls", "clsprompt", "mvp", "mlp_ft_adv", "mvp_adv"]
    assert c["methods"]["mvp_adv"]["adv"] == {"norm": "l2", "epsilon": 1.0, "steps": 1, "random_start": True, "step_size": None}
    assert c["backbones"]["roberta-base"]["source"] == {"hub": "FacebookAI/roberta-base"}
    t = c["training"]
    assert (t["lr"], t["batch_size"], t["max_epochs"], t["weight_decay"], t["max_length"]) == (1e-5, 8, 20, 0.01, 512)
    assert c["attacks"]["textfooler"]["num_examples"] == 1000


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda c: c["methods"]["mvp"].update(kind="svm"), "kind"),
        (lambda c: c["datasets"]["sst2"].update(task="mnli"), "task"),
        (lambda c: c["datasets"]["sst2"]["source"].update(path="x"), "oneOf|valid under each of"),
        (lambda c: c.update(seeds=[]), "seeds|non-empty|should be non-empty|too short"),
        (lambda c: c["attacks"]["textfooler"].update(recipe="pwwws"), "recipe|pwwws"),
        (lambda c: c.update(unexpected=1), "unexpected"),
    ],
)
def test_schema_errors(demo, mutate, message):
    bad = copy.deepcopy(demo)
    mutate(bad)
    with pytest.raises(WorkflowError, match=message):
        validate(bad, SCHEMA)


def _semantic_error(config: dict) -> str:
    with pytest.raises(cfg.ConfigError) as err:
        cfg.check(config)
    return str(err.value)


def test_template_without_mask(demo):
    demo["methods"]["mvp"]["templates"] = ["It was great"]
    assert "methods.mvp on datasets.sst2: template 'It was great' must contain exactly one [MASK]" in _semantic_error(demo)


def test_template_with_two_masks(demo):
    demo["methods"]["mvp"]["templates"] = ["[MASK] or [MASK]"]
    assert "exactly one [MASK] (found 2)" in _semantic_error(demo)


def test_verbalizer_class_count(demo):
    demo["methods"]["mvp"]["verbalizer"] = [["bad"], ["good"]]
    msg = _semantic_error(demo)
    assert "methods.mvp on datasets.ag_news: the verbalizer has 2 classes but task ag_news has 4" in msg


def test_missing_prompts_file(demo):
    demo["datasets"]["boolq"]["prompts"] = "config/prompts/nope.yaml"
    assert "prompts file 'config/prompts/nope.yaml' does not exist" in _semantic_error(demo)


def test_missing_local_paths(demo):
    demo["datasets"]["sst2"]["source"] = {"path": "/no/such/dir"}
    demo["backbones"]["tiny-roberta"]["source"] = {"path": "/no/such/model"}
    msg = _semantic_error(demo)
    assert "datasets.sst2.source.path: '/no/such/dir' does not exist" in msg
    assert "backbones.tiny-roberta.source.path: '/no/such/model' does not exist" in msg


def test_undefined_embedding(demo):
    demo["attacks"]["textbugger"]["embedding"] = "glove"
    assert "attacks.textbugger.embedding: 'glove' is not defined in attack_resources.embeddings" in _semantic_error(demo)


def test_more_shards_than_examples(demo):
    demo["attacks"]["textfooler"].update(num_examples=3, shards=4)
    assert "attacks.textfooler.shards (4) is larger than num_examples (3)" in _semantic_error(demo)


def test_all_problems_reported_together(demo):
    demo["attacks"]["textfooler"].update(num_examples=3, shards=4)
    demo["attacks"]["textbugger"]["embedding"] = "glove"
    assert _semantic_error(demo).count("\n  - ") == 2


def test_verbalizer_word_must_be_one_token(demo, tiny_backbone):
    demo["methods"]["mvp"]["verbalizer"] = [["negative"], ["supercalifragilistic"]]
    demo["datasets"] = {"sst2": demo["datasets"]["sst2"]}
    with pytest.raises(cfg.ConfigError, match="verbalizer word 'supercalifragilistic' \\(class 1\\) is not a single token for tiny-roberta"):
        cfg.check_verbalizers(demo, "tiny-roberta", tiny_backbone)


def test_params_slices_are_independent(demo):
    """Editing MVP's templates changes MVP's train spec only, not MLP-FT's or the data's."""
    paths = {"model_dir": "m"}
    before = {m: cfg.train_spec(demo, "sst2", "tiny-roberta", m, 0, paths) for m in ("mlp_ft", "mvp")}
    prep_before = cfg.prepare_spec(demo, "sst2")
    demo["methods"]["mvp"]["templates"] = ["[SEP] It was [MASK]"]
    assert cfg.train_spec(demo, "sst2", "tiny-roberta", "mlp_ft", 0, paths) == before["mlp_ft"]
    assert cfg.train_spec(demo, "sst2", "tiny-roberta", "mvp", 0, paths) != before["mvp"]
    assert cfg.prepare_spec(demo, "sst2") == prep_before


def test_duplicate_names_are_rejected(tmp_path):
    text = (REPO / "config" / "demo.yaml").read_text().replace(
        "methods:\n  mlp_ft:\n    kind: mlp_ft\n", "methods:\n  mlp_ft:\n    kind: mlp_ft\n  mlp_ft:\n    kind: mvp\n"
    )
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError, match=r"names defined twice: 'mlp_ft' \(line \d+\)"):
        cfg.check_duplicate_keys(path)
    cfg.check_duplicate_keys(REPO / "config.yaml")  # the shipped configs have none


def test_undefined_dataset_references(demo):
    demo["attacks"]["textfooler"]["max_words_perturbed"] = {"default": 0.1, "agnews": 0.3}
    demo["backbones"]["tiny-roberta"]["source"]["corpus_datasets"] = ["sst2", "imdb"]
    demo["methods"]["mvp"]["prompts"] = {"sst-2": "config/prompts/sst2.yaml"}
    msg = _semantic_error(demo)
    assert "attacks.textfooler.max_words_perturbed: 'agnews' is not a task" in msg
    assert "backbones.tiny-roberta.source.corpus_datasets: dataset 'imdb' is not defined in datasets" in msg
    assert "methods.mvp.prompts: dataset 'sst-2' is not defined in datasets" in msg


def test_template_indices_select_and_are_checked(demo):
    demo["methods"]["mvp_2"] = {"kind": "mvp", "template_indices": [0, 3]}
    spec = cfg.method_spec(demo, "sst2", "mvp_2")
    assert spec["templates"] == ["Sentiment of the statement is [MASK] .", "[SEP] The statement is [MASK]"]
    demo["methods"]["mvp_2"]["template_indices"] = [4]
    assert "template_indices [4] are outside 0..3" in _semantic_error(demo)


def test_clsprompt_uses_the_verbalizer_without_templates(demo):
    demo["methods"]["clsprompt"] = {"kind": "clsprompt"}
    spec = cfg.method_spec(demo, "ag_news", "clsprompt")
    assert spec["templates"] == [] and spec["verbalizer"] == [["politics"], ["sports"], ["business"], ["technology"]]


def test_report_section_errors_name_the_key(demo, tmp_path):
    demo["report"]["comparisons"] = [{"method": "mvp", "baseline": "mlp_ft_adv"}]
    demo["report"]["published"] = str(tmp_path / "missing.csv")
    message = _semantic_error(demo)
    assert "report.comparisons[0].baseline is 'mlp_ft_adv'" in message
    assert "report.published:" in message and "does not exist" in message
    bad = tmp_path / "published.csv"
    bad.write_text("dataset,backbone,method,metric,attack,value,source\nsst2,x,mvp,clean_accuracy,,80,\n")
    demo["report"] = {"published": str(bad), "comparisons": None, "examples_per_method": 5}
    assert "data row 1: every published value needs its source" in _semantic_error(demo)


def test_shipped_published_numbers_are_valid():
    from mvprepro.compare import load_published

    table = load_published(REPO / "config" / "published.csv")
    assert set(table.metric) <= {"clean_accuracy", "robust_accuracy"} and (table.source != "").all()
