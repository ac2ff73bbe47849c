"""One list per set of names: the schema's enums, the config checks and the code agree."""

from __future__ import annotations


import yaml

import pytest

from mvprepro import names
from mvprepro.data.tasks import PRESETS
from mvprepro.download.attack_resources import fetch as fetch_attack_resources
from mvprepro.train.models import MODEL_CLASSES
from helpers import REPO

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def _entry(section: str) -> dict:
    return SCHEMA["properties"][section]["additionalProperties"]


def test_method_kinds():
    assert tuple(_entry("methods")["properties"]["kind"]["enum"]) == names.METHOD_KINDS
    assert tuple(MODEL_CLASSES) == names.METHOD_KINDS
    assert set(names.PROMPT_KINDS) <= set(names.METHOD_KINDS)
    # The schema's pooling defaults apply to exactly the prompt kinds.
    assert tuple(_entry("methods")["if"]["properties"]["kind"]["enum"]) == names.PROMPT_KINDS


@pytest.fixture(scope="module")
def recipe_builders(tmp_path_factory):
    """TextAttack imports only once NLTK's stopwords are local (mvprepro.resources.activate)."""
    from mvprepro import resources

    manifest = tmp_path_factory.mktemp("resources") / "manifest.json"
    spec = {"embeddings": {"counterfitted": {"source": {"builder": "demo"}}}, "nltk": "builtin", "sentence_encoder": "none"}
    fetch_attack_resources(spec, manifest)
    resources.activate(manifest.parent)
    from mvprepro.attack.recipes import BUILDERS

    return BUILDERS


def test_attack_recipes_and_variants(recipe_builders):
    BUILDERS = recipe_builders
    entry = _entry("attacks")
    assert tuple(entry["properties"]["recipe"]["enum"]) == names.RECIPES
    assert tuple(BUILDERS) == names.RECIPES
    variants = {v for vs in names.RECIPE_VARIANTS.values() for v in vs}
    assert set(entry["properties"]["variant"]["enum"]) == variants
    # The schema fills a variant for exactly the recipes that have variants.
    with_variant = {r["if"]["properties"]["recipe"]["const"] for r in entry["allOf"] if "variant" in r["then"]["properties"]}
    assert with_variant == set(names.RECIPE_VARIANTS)
    assert {r["if"]["properties"]["recipe"]["const"] for r in entry["allOf"]} <= set(names.RECIPES)


def test_task_presets():
    assert tuple(PRESETS) == names.TASK_NAMES
    description = _entry("datasets")["properties"]["task"]["description"]
    assert all(name in description for name in names.TASK_NAMES)
