"""One list per set of names: the schema's enums, the config checks and the code agree."""

from __future__ import annotations


import yaml

import pytest

from mvprepro import names
from mvprepro.data.tasks import PRESETS
from mvprepro.download.download_attack_resources import fetch as fetch_attack_resources
from mvprepro.train.models import MODEL_CLASSES, kind_class
from helpers import REPO

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def _entry(section: str) -> dict:
    return SCHEMA["properties"][section]["additionalProperties"]


def test_method_kinds():
    assert tuple(_entry("methods")["properties"]["kind"]["anyOf"][0]["enum"]) == names.METHOD_KINDS
    assert tuple(MODEL_CLASSES) == names.METHOD_KINDS
    assert set(names.PROMPT_KINDS) <= set(names.METHOD_KINDS)
    # Each built-in kind is its import path, resolved as a user's kind is, and the classes
    # say which of them read label words as PROMPT_KINDS does.
    for kind, path in names.BUILTIN_KINDS.items():
        cls = kind_class(kind, "methods.x.kind")
        assert cls is MODEL_CLASSES[kind] and f"{cls.__module__}:{cls.__name__}" == path
        assert cls.reads_label_words == (kind in names.PROMPT_KINDS)
    # The schema's pooling defaults apply to exactly the prompt kinds.
    assert tuple(_entry("methods")["if"]["properties"]["kind"]["enum"]) == names.PROMPT_KINDS


@pytest.fixture(scope="module")
def recipe_builders(tmp_path_factory):
    """TextAttack imports only once NLTK's stopwords are local (mvprepro.attack_resources.activate)."""
    from mvprepro import attack_resources as resources

    manifest = tmp_path_factory.mktemp("resources") / "manifest.json"
    spec = {"embeddings": {"counterfitted": {"source": {"builder": "demo"}}}, "nltk": "builtin", "sentence_encoder": "none"}
    fetch_attack_resources(spec, manifest)
    resources.activate(manifest.parent)
    from mvprepro.attack.recipes import BUILDERS

    return BUILDERS


def test_attack_recipes_and_variants(recipe_builders):
    BUILDERS = recipe_builders
    entry = _entry("attacks")
    assert tuple(entry["properties"]["recipe"]["anyOf"][0]["enum"]) == names.RECIPES
    assert tuple(BUILDERS) == names.RECIPES
    variants = {v for vs in names.RECIPE_VARIANTS.values() for v in vs}
    assert set(entry["properties"]["variant"]["enum"]) == variants
    # The schema fills a variant for exactly the recipes that have variants.
    def recipes(rule):
        condition = rule["if"]["properties"]["recipe"]
        return {condition["const"]} if "const" in condition else set(condition["enum"])

    with_variant = {r for rule in entry["allOf"] if "variant" in rule["then"]["properties"] for r in recipes(rule)}
    assert with_variant == set(names.RECIPE_VARIANTS)
    assert set().union(*map(recipes, entry["allOf"])) <= set(names.RECIPES)
    # The budget is filled for exactly the imperceptible families.
    with_budget = {r for rule in entry["allOf"] if "budget" in rule["then"]["properties"] for r in recipes(rule)}
    assert with_budget == set(names.IMPERCEPTIBLE_RECIPES)


def test_task_presets():
    assert tuple(PRESETS) == names.TASK_NAMES
    description = _entry("datasets")["properties"]["task"]["description"]
    assert all(name in description for name in names.TASK_NAMES)
