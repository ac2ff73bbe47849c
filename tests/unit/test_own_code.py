"""Your own method kinds and attack recipes by import path: resolution, errors, provenance."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.utils import validate

from helpers import REPO
from mvprepro import plan as planner
from mvprepro import plugins
from mvprepro.train import models

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
KIND = "examples.own_method.start_token_bias:StartTokenBias"


@pytest.fixture
def demo(monkeypatch) -> dict:
    monkeypatch.chdir(REPO)
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    validate(config, SCHEMA)
    return config


def _check(config: dict) -> str:
    config = copy.deepcopy(config)
    validate(config, SCHEMA)
    with pytest.raises(planner.ConfigError) as err:
        planner.check(config)
    return str(err.value)


def test_import_paths_are_told_apart_from_names():
    assert plugins.is_import_path("examples.own_method.start_token_bias:StartTokenBias")
    assert plugins.is_import_path("mine:build")
    assert not plugins.is_import_path("textattack:deepwordbug") and not plugins.is_import_path("mvp")
    assert not plugins.is_import_path("a.b") and not plugins.is_import_path("a:b:c")


def test_a_user_kind_is_resolved_like_the_built_ins(demo):
    cls = models.kind_class(KIND)
    assert issubclass(cls, models.MethodModel) and cls.reads_label_words and cls.backbone_head == "lm"
    demo["methods"]["start_bias"] = {"kind": KIND, "options": {"pool": "mean"}}
    plan = planner.Plan(demo)
    planner.check(demo)
    spec = plan.method("sst2", "tiny-roberta", "start_bias")
    assert spec["verbalizer"] == [["negative"], ["positive"]] and spec["options"] == {"pool": "mean"}
    assert plan.uses_prompts("start_bias")  # its label words are checked by a check_prompts job


@pytest.mark.parametrize(
    "kind, message",
    [
        ("examples.nowhere.module:Thing", "methods.x.kind: cannot find module 'examples.nowhere.module'"),
        ("examples.own_method.start_token_bias:Missing", "defines no 'Missing' at top level"),
        ("examples.own_method.start_token_bias:ClassBias", "is not a subclass of mvprepro.train.models.MethodModel"),
    ],
)
def test_a_bad_kind_names_its_key_and_path(demo, kind, message):
    demo["methods"]["x"] = {"kind": kind}
    assert message in _check(demo)


def test_a_kind_that_is_neither_a_name_nor_a_path_is_refused_by_the_schema(demo):
    demo["methods"]["x"] = {"kind": "mvp2"}
    with pytest.raises(Exception, match="mvp2"):
        validate(demo, SCHEMA)


def test_a_module_that_raises_on_import_is_named(demo, tmp_path, monkeypatch):
    (tmp_path / "raising_kind.py").write_text("raise ImportError('no such dependency')\n\nclass Kind:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    demo["methods"]["x"] = {"kind": "raising_kind:Kind"}
    assert "methods.x.kind: importing 'raising_kind' (for 'raising_kind:Kind') raised ImportError: no such dependency" in _check(demo)


def test_a_kind_whose_forward_returns_the_wrong_shape_is_named(tiny_backbone, tmp_path, monkeypatch):
    (tmp_path / "wrong_shape.py").write_text(
        "import torch\nfrom mvprepro.train.models import MethodModel\n\n\n"
        "class Wide(MethodModel):\n"
        "    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, **_):\n"
        "        return self.hf(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {"kind": "wrong_shape:Wide", "name": "wide", "num_labels": 2, "max_length": 32, "prompt_reserve": 8, "backbone": "tiny"}
    model = models.build(tiny_backbone, spec).eval()
    batch = model.collate([[0, 5, 6, 2], [0, 7, 2]])
    with pytest.raises(ValueError, match=r"methods.wide.kind: 'wrong_shape:Wide': forward returned a tensor of shape \(2, 64\).*expected float class scores of shape \(2, 2\)"):
        models.check_output(model, model(**batch), 2)


def test_a_kind_that_raises_when_built_is_named(tiny_backbone, tmp_path, monkeypatch):
    (tmp_path / "fails_to_build.py").write_text(
        "from mvprepro.train.models import MethodModel\n\n\nclass Broken(MethodModel):\n"
        "    def __init__(self, hf_model, tokenizer, spec):\n        raise KeyError('options')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {"kind": "fails_to_build:Broken", "name": "broken", "num_labels": 2, "max_length": 32, "prompt_reserve": 8, "backbone": "tiny"}
    with pytest.raises(plugins.PluginError, match="methods.broken.kind: 'fails_to_build:Broken' raised KeyError when built"):
        models.build(tiny_backbone, spec)


def test_user_code_joins_the_provenance_of_exactly_its_jobs(demo, tmp_path, monkeypatch):
    package = tmp_path / "mine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("SCALE = 1\n")
    (package / "kind.py").write_text(
        "from mvprepro.train.models import SequenceClassifier\nfrom .helper import SCALE\n\n\nclass Kind(SequenceClassifier):\n    pass\n"
    )
    (package / "unrelated.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    demo["methods"]["mine"] = {"kind": "mine.kind:Kind"}
    before = {m: planner.Plan(demo).train("sst2", "tiny-roberta", m, 0) for m in demo["methods"]}
    digest = plugins.code_digest("mine.kind:Kind", "k")
    (package / "unrelated.py").write_text("X = 2\n")
    assert plugins.code_digest("mine.kind:Kind", "k") == digest  # not imported by the kind
    (package / "helper.py").write_text("SCALE = 2\n")
    assert plugins.code_digest("mine.kind:Kind", "k") != digest  # imported by it: part of its code
    after = planner.Plan(demo)
    for method in demo["methods"]:
        changed = before[method] != after.train("sst2", "tiny-roberta", method, 0)
        assert changed == (method == "mine"), method


def test_recipes_by_import_path_and_textattack_name_are_checked_before_any_job(demo):
    demo["attacks"]["mine"] = {"recipe": "examples.own_attack.keyboard_typos:nothing"}
    assert "attacks.mine.recipe: 'examples.own_attack.keyboard_typos:nothing'" in _check(demo)
    demo["attacks"]["mine"] = {"recipe": "textattack:bert-attack"}
    assert "attacks.mine.recipe: TextAttack's 'bert-attack' cannot run here: it downloads bert-base-uncased" in _check(demo)
    demo["attacks"]["mine"] = {"recipe": "textattack:nosuch"}
    assert "'textattack:nosuch' is not a TextAttack recipe this pipeline knows" in _check(demo)
    demo["attacks"]["mine"] = {"recipe": "textattack:textfooler"}
    message = _check(demo)  # the demo has no USE, no tagger and no paragram vectors
    assert "attack_resources.sentence_encoder: use" in message and "pos_tagger entry" in message
    assert "{source: {textattack: paragramcf}}" in message
    demo["attacks"]["mine"] = {"recipe": "textfooler", "budget": 3}
    assert "attacks.mine.budget: only homoglyph, invisible, reorder, deletion take a perturbation budget" in _check(demo)
    demo["attacks"]["mine"] = {"recipe": "homoglyph", "letters": "ab"}
    assert "attacks.mine.letters: only the deletion recipe inserts letters" in _check(demo)
    demo["attacks"]["mine"] = {"recipe": "homoglyph", "options": {"a": 1}}
    assert "attacks.mine.options: only your own builders" in _check(demo)
    demo["attacks"]["mine"] = {"recipe": "textattack:deepwordbug"}
    planner.check(validated(demo))


def validated(config: dict) -> dict:
    validate(config, SCHEMA)
    return config


def test_a_user_recipe_that_returns_the_wrong_thing_is_named(demo, tmp_path, monkeypatch):
    from mvprepro import attack_resources as resources
    from mvprepro.download.download_attack_resources import fetch

    manifest = tmp_path / "res" / "manifest.json"
    fetch({"embeddings": {}, "nltk": "builtin", "sentence_encoder": "none"}, manifest)
    resources.activate(manifest.parent)
    from mvprepro.attack import recipes
    from mvprepro.data.tasks import get_task

    (tmp_path / "bad_recipes.py").write_text(
        "def nothing(model_wrapper, parts):\n    return None\n\n\ndef raises(model_wrapper, parts, size=1):\n    raise ValueError(f'size {size} too big')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {"recipe": "bad_recipes:nothing", "query_batch_size": 8}
    with pytest.raises(plugins.PluginError, match="attacks.a.recipe: 'bad_recipes:nothing' returned NoneType, not a textattack.Attack"):
        recipes.build("a", spec, object(), get_task("sst2"), manifest.parent)
    spec = {"recipe": "bad_recipes:raises", "query_batch_size": 8, "options": {"size": 9}}
    with pytest.raises(plugins.PluginError, match="attacks.a.recipe: 'bad_recipes:raises' raised ValueError while building the attack: size 9 too big"):
        recipes.build("a", spec, object(), get_task("sst2"), manifest.parent)
